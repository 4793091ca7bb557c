"""One board's MQTT addresses, worked out from the topic table (agent/topic_table.py,
re-exported here), and the routing of inbound topics to what the core does with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.messages import Channel, group_channel, group_of
from agent.topic_table import (
    ALERT_ID,
    CONTENT_ROWS,
    GROUP,
    LAYOUT_NAME,
    TOPIC_TABLE,
    Direction,
    MessageKind,
    Purpose,
    TopicRow,
    row_for,
)

__all__ = [
    "ALERT_ID",
    "GROUP",
    "LAYOUT_NAME",
    "TOPIC_TABLE",
    "AlertTopic",
    "AssignmentTopic",
    "CommandTopic",
    "ContentTopic",
    "Direction",
    "KeyringTopic",
    "LayoutTopic",
    "MessageKind",
    "Purpose",
    "Route",
    "TopicRow",
    "Topics",
    "row_for",
]


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


@dataclass(frozen=True, slots=True)
class KeyringTopic:
    pass


@dataclass(frozen=True, slots=True)
class LayoutTopic:
    name: str  # the topic's last level, not yet checked as a layout name


@dataclass(frozen=True, slots=True)
class AssignmentTopic:
    pass


Route = ContentTopic | AlertTopic | CommandTopic | KeyringTopic | AssignmentTopic | LayoutTopic


@dataclass(slots=True)
class Topics:
    """The table's addresses for one board. The groups are the one part that changes
    while the agent runs (a remote assignment, `assign`): every part holds this one
    object, so routing, the link's subscriptions and refusals all follow at once."""

    root: str
    district: str | None
    commune: str
    board: str
    groups: tuple[str, ...] = ()
    # Every row's address, worked out once: routing runs for each inbound message.
    _addresses: dict[str, str] = field(init=False, repr=False, compare=False)
    _outbound: dict[str, TopicRow] = field(init=False, repr=False, compare=False)
    _group_channels: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._addresses = {
            row.name: self.address(row)
            for row in TOPIC_TABLE
            if self.has(row) and not row.per_group
        }
        self._outbound = {
            self._addresses[row.name]: row for row in TOPIC_TABLE if row.direction == "send"
        }
        self.assign(self.groups)

    def assign(self, groups: tuple[str, ...]) -> None:
        """The groups the board belongs to from now on (its `group:{g}` channels). Set as
        whole values: paho's thread reads them while the core's thread assigns."""
        self._group_channels = frozenset(group_channel(group) for group in groups)
        self.groups = tuple(groups)

    def has(self, row: TopicRow) -> bool:
        """Whether this board has the row at all (no district: no district, commune rows)."""
        return self.district is not None or not row.needs_district

    def address(
        self, row: TopicRow, alert_id: str = "+", layout: str = "+", group: str = "+"
    ) -> str:
        """The row's topic for this board; an alert row's last level is `alert_id`, a
        layout row's `layout`, a group row's group level `group`."""
        return row.template.format(
            root=self.root,
            district=self.district,
            commune=self.commune,
            board=self.board,
            group=group,
            **{ALERT_ID: alert_id, LAYOUT_NAME: layout},
        )

    def _of(self, row: TopicRow) -> str:
        return self._addresses[row.name]

    def content(self, channel: Channel) -> str:
        group = group_of(channel)
        if group is not None:
            return self.address(CONTENT_ROWS[GROUP], group=group)
        return self._of(CONTENT_ROWS[channel])

    def alert_scopes(self) -> dict[str, str]:
        """Alert topic prefix (without the alert id) of each scope."""
        scopes: dict[str, str] = {}
        for row in TOPIC_TABLE:
            if row.purpose != "alert" or not self.has(row):
                continue
            if row.per_group:
                for group in self.groups:
                    scopes[group_channel(group)] = self.address(row, group=group).removesuffix("/+")
            else:
                scopes[str(row.scope)] = self._of(row).removesuffix("/+")
        return scopes

    @property
    def keyring(self) -> str:
        return self._of(row_for("keyring"))

    def layout(self, name: str) -> str:
        return self.address(row_for("layout"), layout=name)

    @property
    def assignment(self) -> str:
        return self._of(row_for("assignment"))

    @property
    def status(self) -> str:
        return self._of(row_for("status"))

    @property
    def heartbeat(self) -> str:
        return self._of(row_for("heartbeat"))

    @property
    def events(self) -> str:
        return self._of(row_for("events"))

    @property
    def command(self) -> str:
        return self._of(row_for("command"))

    @property
    def command_result(self) -> str:
        return self._of(row_for("command_result"))

    @property
    def screenshot(self) -> str:
        return self._of(row_for("screenshot"))

    def subscription_rows(self, *, alerts: bool, trust: bool = False) -> list[tuple[str, TopicRow]]:
        """What the board subscribes to (alert ids as the `+` wildcard), in table order;
        a group row once per group; the keyring only with `[trust]` (a board without keys
        has no use for one)."""
        rows: list[tuple[str, TopicRow]] = []
        for row in TOPIC_TABLE:
            if (
                row.direction != "receive"
                or not self.has(row)
                or (not alerts and row.purpose == "alert")
                or (not trust and row.purpose == "keyring")
            ):
                continue
            if row.per_group:
                rows += [(self.address(row, group=group), row) for group in self.groups]
            else:
                rows.append((self._of(row), row))
        return rows

    def subscriptions(self, *, alerts: bool, trust: bool = False) -> list[str]:
        return [topic for topic, _row in self.subscription_rows(alerts=alerts, trust=trust)]

    def outbound(self, topic: str) -> TopicRow | None:
        """The send row whose address `topic` is (for its QoS and retain flag)."""
        return self._outbound.get(topic)

    def route(self, topic: str) -> Route | None:
        """The receive row `topic` belongs to, as what the core does with it. A group's
        topic routes only while the board belongs to the group (a message of a group just
        left may still be on its way)."""
        for row in TOPIC_TABLE:
            if row.direction != "receive" or not self.has(row):
                continue
            if row.per_group:
                found = self._route_group(row, topic)
                if found is not None:
                    return found
            elif row.purpose in ("alert", "layout"):
                prefix = self._of(row).removesuffix("+")
                last = topic.removeprefix(prefix)
                if topic.startswith(prefix) and last and "/" not in last:
                    if row.purpose == "layout":
                        return LayoutTopic(last)
                    return AlertTopic(str(row.scope), last)
            elif topic == self._of(row):
                return _plain_route(row)
        return None

    def _route_group(self, row: TopicRow, topic: str) -> Route | None:
        prefix = self.address(row, group="\0").partition("\0")[0]  # up to the group level
        if not topic.startswith(prefix):
            return None
        group, sep, rest = topic.removeprefix(prefix).partition("/")
        channel = group_channel(group)
        if channel not in self._group_channels:
            return None
        if row.purpose == "content":
            return None if sep else ContentTopic(channel)
        return AlertTopic(channel, rest) if rest and "/" not in rest else None


def _plain_route(row: TopicRow) -> Route | None:
    if row.purpose == "command":
        return CommandTopic()
    if row.purpose == "keyring":
        return KeyringTopic()
    if row.purpose == "assignment":
        return AssignmentTopic()
    if row.scope is not None:
        return ContentTopic(row.scope)
    return None
