"""The board's MQTT topics (CONTRACT §2) as one table, and the routing of inbound topics.

`TOPIC_TABLE` has a row per topic: its address template, direction, QoS, retain flag and
the payloads it carries. Everything else reads it: `MqttLink` subscribes to the receive
rows and publishes with each send row's QoS and retain flag, `Topics.route` tells an
inbound topic's row, and `agent.schema` generates the AsyncAPI document from it. A new
topic is a new row here, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from agent.messages import BROKER_CHANNELS, Channel

Direction = Literal["receive", "send"]
# What a row is for: how an inbound topic is routed, or which outbound topic it is.
Purpose = Literal[
    "content",
    "alert",
    "command",
    "keyring",
    "layout",
    "status",
    "heartbeat",
    "events",
    "command_result",
    "screenshot",
]
# Payload kinds (`agent.schema.PAYLOAD_KINDS`), plus `clear` (an empty retained payload)
# and `screenshot` (PNG bytes): the messages a topic carries.
MessageKind = Literal[
    "playlist",
    "alert",
    "clear",
    "command",
    "keyring",
    "layout",
    "command_result",
    "heartbeat",
    "event",
    "status",
    "screenshot",
]

ALERT_ID: Final = "alertId"  # the last level of an alert topic: one retained topic per alert
LAYOUT_NAME: Final = "name"  # the last level of a layout topic: the layout's name
_INBOUND_NOTE: Final = "Inbound, QoS 1; the agent re-subscribes after every reconnect."
_OUTBOX_NOTE: Final = (
    " Produced while the broker is unreachable, it waits in the on-disk outbox and is "
    "published, oldest first, after reconnecting, with its original time."
)


@dataclass(frozen=True, slots=True)
class TopicRow:
    """One topic. `template` and `description` use `{root}`, `{district}`, `{commune}`,
    `{board}`, `{alertId}` (the alert id level) and `{name}` (the layout name level);
    each of the last two is a `+` in the subscription."""

    name: str  # the channel's id in the AsyncAPI document
    operation: str  # the operation's id there
    template: str
    direction: Direction
    qos: int
    retain: bool
    messages: tuple[MessageKind, ...]
    purpose: Purpose
    title: str
    description: str
    scope: Channel | None = None  # content and alert rows: the channel they belong to


_SCOPED: Final[dict[Channel, str]] = {
    "city": "city",
    "district": "district/{district}",
    "commune": "commune/{district}/{commune}",
    "board": "board/{board}",
}


def _content_row(channel: Channel) -> TopicRow:
    return TopicRow(
        name=f"content{channel.title()}",
        operation=f"receive{channel.title()}Content",
        template=f"{{root}}/content/{_SCOPED[channel]}",
        direction="receive",
        qos=1,
        retain=True,
        messages=("playlist", "clear"),
        purpose="content",
        title=f"{channel} content",
        description=f"Retained playlist of the `{channel}` channel: its whole current content. "
        f"An empty retained payload clears the channel. {_INBOUND_NOTE}",
        scope=channel,
    )


def _alert_row(scope: Channel) -> TopicRow:
    return TopicRow(
        name=f"alert{scope.title()}",
        operation=f"receive{scope.title()}Alert",
        template=f"{{root}}/alert/{_SCOPED[scope]}/{{{ALERT_ID}}}",
        direction="receive",
        qos=1,
        retain=True,
        messages=("alert", "clear"),
        purpose="alert",
        title=f"{scope} alerts",
        description=f"One retained alert per topic ({{{ALERT_ID}}} = the alert's id). A `cancel`, "
        f"its expiry or an empty retained payload ends it. {_INBOUND_NOTE}",
        scope=scope,
    )


_OWN: Final = "{root}/board/{board}/"

TOPIC_TABLE: Final[tuple[TopicRow, ...]] = (
    *(_content_row(channel) for channel in BROKER_CHANNELS),
    *(_alert_row(scope) for scope in BROKER_CHANNELS),
    TopicRow(
        name="command",
        operation="receiveCommand",
        template=_OWN + "cmd",
        direction="receive",
        qos=1,
        retain=False,  # a retained command is refused (it would run again at every reconnect)
        messages=("command",),
        purpose="command",
        title="commands",
        description="Commands to this board; each id runs at most once; the result goes to "
        f"{_OWN}cmd/result. {_INBOUND_NOTE}",
    ),
    TopicRow(
        name="trust",
        operation="receiveKeyring",
        template="{root}/trust",
        direction="receive",
        qos=1,
        retain=True,
        messages=("keyring",),
        purpose="keyring",
        title="keyring",
        description="Retained keyring (CONTRACT §7), a JWS signed by a key that may sign "
        "`keyring`: the keys the city's boards trust besides their config's roots, and the "
        "kids revoked. A higher version replaces the one held; kept on disk. Subscribed only "
        f"by boards with [trust]. {_INBOUND_NOTE}",
    ),
    TopicRow(
        name="layout",
        operation="receiveLayout",
        template=f"{{root}}/layout/{{{LAYOUT_NAME}}}",
        direction="receive",
        qos=1,
        retain=True,
        messages=("layout", "clear"),
        purpose="layout",
        title="layouts",
        description="One retained layout per topic ({name} = the layout's name, as its "
        "`name:` says): the YAML text of a layout file, or a JWS of it (`cty` yaml), checked "
        "as a file of [display] layouts_dir is; kept on disk, usable by playlists at once. A "
        "built-in layout's name is refused. An empty retained payload removes it. Subscribed "
        f"by every board. {_INBOUND_NOTE}",
    ),
    TopicRow(
        name="status",
        operation="sendStatus",
        template=_OWN + "status",
        direction="send",
        qos=1,
        retain=True,
        messages=("status",),
        purpose="status",
        title="presence",
        description="Retained. `online` after each connect; a clean stop publishes `offline` with "
        "reason `shutdown` first; the broker publishes the Last Will {will} "
        "(retained, QoS 1) when the connection is lost. A broker crash sends no Will: "
        "treat a board whose heartbeats stop for 3 intervals as offline.",
    ),
    TopicRow(
        name="heartbeat",
        operation="sendHeartbeat",
        template=_OWN + "heartbeat",
        direction="send",
        qos=1,
        retain=False,
        messages=("heartbeat",),
        purpose="heartbeat",
        title="heartbeats",
        description="Health every [health] heartbeat_interval_s (default 30 s)." + _OUTBOX_NOTE,
    ),
    TopicRow(
        name="events",
        operation="sendEvent",
        template=_OWN + "events",
        direction="send",
        qos=1,
        retain=False,
        messages=("event",),
        purpose="events",
        title="events",
        description="Content accepted/rejected/ignored/cleared, proof of play, alerts, assets, "
        "serial link, display errors." + _OUTBOX_NOTE,
    ),
    TopicRow(
        name="commandResult",
        operation="sendCommandResult",
        template=_OWN + "cmd/result",
        direction="send",
        qos=1,
        retain=False,
        messages=("command_result",),
        purpose="command_result",
        title="command results",
        description=f"One result per command received on {_OWN}cmd.",
    ),
    TopicRow(
        name="screenshot",
        operation="sendScreenshot",
        template=_OWN + "screenshot",
        direction="send",
        qos=1,
        retain=False,
        messages=("screenshot",),
        purpose="screenshot",
        title="screenshots",
        description="PNG of the frame on show, published before the `screenshot` command's result.",
    ),
)

_BY_PURPOSE: Final[dict[Purpose, TopicRow]] = {
    row.purpose: row for row in TOPIC_TABLE if row.scope is None
}


_CONTENT_ROWS: Final[dict[Channel, TopicRow]] = {
    row.scope: row for row in TOPIC_TABLE if row.purpose == "content" and row.scope is not None
}


def row_for(purpose: Purpose) -> TopicRow:
    """The row of a board-level topic (status, heartbeat, command, …)."""
    return _BY_PURPOSE[purpose]


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


Route = ContentTopic | AlertTopic | CommandTopic | KeyringTopic | LayoutTopic


@dataclass(frozen=True, slots=True)
class Topics:
    """The table's addresses for one board."""

    root: str
    district: str
    commune: str
    board: str
    # Every row's address, worked out once: routing runs for each inbound message.
    _addresses: dict[str, str] = field(init=False, repr=False, compare=False)
    _outbound: dict[str, TopicRow] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        addresses = {row.name: self.address(row) for row in TOPIC_TABLE}
        outbound = {addresses[row.name]: row for row in TOPIC_TABLE if row.direction == "send"}
        object.__setattr__(self, "_addresses", addresses)  # frozen: set once, here
        object.__setattr__(self, "_outbound", outbound)

    def address(self, row: TopicRow, alert_id: str = "+", layout: str = "+") -> str:
        """The row's topic for this board; an alert row's last level is `alert_id`, a
        layout row's `layout`."""
        return row.template.format(
            root=self.root,
            district=self.district,
            commune=self.commune,
            board=self.board,
            **{ALERT_ID: alert_id, LAYOUT_NAME: layout},
        )

    def _of(self, row: TopicRow) -> str:
        return self._addresses[row.name]

    def content(self, channel: Channel) -> str:
        return self._of(_CONTENT_ROWS[channel])

    def alert_scopes(self) -> dict[str, str]:
        """Alert topic prefix (without the alert id) of each scope."""
        return {
            str(row.scope): self._of(row).removesuffix("/+")
            for row in TOPIC_TABLE
            if row.purpose == "alert"
        }

    @property
    def keyring(self) -> str:
        return self._of(row_for("keyring"))

    def layout(self, name: str) -> str:
        return self.address(row_for("layout"), layout=name)

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
        the keyring only with `[trust]` (a board without keys has no use for one)."""
        return [
            (self._of(row), row)
            for row in TOPIC_TABLE
            if row.direction == "receive"
            and (alerts or row.purpose != "alert")
            and (trust or row.purpose != "keyring")
        ]

    def subscriptions(self, *, alerts: bool, trust: bool = False) -> list[str]:
        return [topic for topic, _row in self.subscription_rows(alerts=alerts, trust=trust)]

    def outbound(self, topic: str) -> TopicRow | None:
        """The send row whose address `topic` is (for its QoS and retain flag)."""
        return self._outbound.get(topic)

    def route(self, topic: str) -> Route | None:
        """The receive row `topic` belongs to, as what the core does with it."""
        for row in TOPIC_TABLE:
            if row.direction != "receive":
                continue
            if row.purpose in ("alert", "layout"):
                prefix = self._of(row).removesuffix("+")
                last = topic.removeprefix(prefix)
                if topic.startswith(prefix) and last and "/" not in last:
                    if row.purpose == "layout":
                        return LayoutTopic(last)
                    return AlertTopic(str(row.scope), last)
            elif topic == self._of(row):
                if row.purpose == "command":
                    return CommandTopic()
                if row.purpose == "keyring":
                    return KeyringTopic()
                if row.scope is not None:
                    return ContentTopic(row.scope)
        return None
