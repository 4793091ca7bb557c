"""MQTT topic names of one board (CONTRACT §2), and the routing of inbound topics."""

from __future__ import annotations

from dataclasses import dataclass

from agent.messages import Channel


@dataclass(frozen=True, slots=True)
class ContentTopic:
    channel: Channel


@dataclass(frozen=True, slots=True)
class AlertTopic:
    scope: str
    alert_id: str


@dataclass(frozen=True, slots=True)
class CommandTopic:
    pass


Route = ContentTopic | AlertTopic | CommandTopic


@dataclass(frozen=True, slots=True)
class Topics:
    root: str
    district: str
    commune: str
    board: str

    def content(self, channel: Channel) -> str:
        scoped = {
            "city": "city",
            "district": f"district/{self.district}",
            "commune": f"commune/{self.district}/{self.commune}",
            "board": f"board/{self.board}",
        }
        return f"{self.root}/content/{scoped[channel]}"

    def alert_scopes(self) -> dict[str, str]:
        """Alert topic prefix (without the alert id) of each scope."""
        return {
            "city": f"{self.root}/alert/city",
            "district": f"{self.root}/alert/district/{self.district}",
            "commune": f"{self.root}/alert/commune/{self.district}/{self.commune}",
            "board": f"{self.root}/alert/board/{self.board}",
        }

    def _own(self, leaf: str) -> str:
        return f"{self.root}/board/{self.board}/{leaf}"

    @property
    def status(self) -> str:
        return self._own("status")

    @property
    def heartbeat(self) -> str:
        return self._own("heartbeat")

    @property
    def events(self) -> str:
        return self._own("events")

    @property
    def command(self) -> str:
        return self._own("cmd")

    @property
    def command_result(self) -> str:
        return self._own("cmd/result")

    @property
    def screenshot(self) -> str:
        return self._own("screenshot")

    def subscriptions(self, *, alerts: bool) -> list[str]:
        channels: tuple[Channel, ...] = ("city", "district", "commune", "board")
        topics = [self.content(channel) for channel in channels] + [self.command]
        if alerts:
            topics += [f"{prefix}/+" for prefix in self.alert_scopes().values()]
        return topics

    def route(self, topic: str) -> Route | None:
        if topic == self.command:
            return CommandTopic()
        for channel in ("city", "district", "commune", "board"):
            if topic == self.content(channel):
                return ContentTopic(channel)
        for scope, prefix in self.alert_scopes().items():
            head, _, alert_id = topic.rpartition("/")
            if head == prefix and alert_id:
                return AlertTopic(scope, alert_id)
        return None
