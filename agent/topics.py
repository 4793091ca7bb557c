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

from agent.messages import BROKER_CHANNELS, Channel, group_channel, group_of

Direction = Literal["receive", "send"]
# What a row is for: how an inbound topic is routed, or which outbound topic it is.
Purpose = Literal[
    "content",
    "alert",
    "command",
    "keyring",
    "assignment",
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
    "assignment",
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
    `{board}`, `{group}` (one address per group the board belongs to), `{alertId}` (the
    alert id level) and `{name}` (the layout name level); each of the last three is a `+`
    in the subscription."""

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
    # Content and alert rows: the channel they belong to; GROUP for the group rows (one
    # channel per group, `group:{g}`).
    scope: str | None = None

    @property
    def per_group(self) -> bool:
        return self.scope == GROUP

    @property
    def needs_district(self) -> bool:
        """A district and a commune topic name the district: with none set ([board]
        district is optional since the 2025 reform), the board has no such channel."""
        return "{district}" in self.template


GROUP: Final = "group"
_SCOPED: Final[dict[str, str]] = {
    "city": "city",
    "district": "district/{district}",
    "commune": "commune/{district}/{commune}",
    "board": "board/{board}",
    GROUP: "group/{group}",
}
_GROUP_NOTE: Final = (
    " Subscribed for each group the board belongs to ([board] groups, or its remote "
    "assignment); its channel is named `group:{group}` in events and heartbeats."
)


def _content_row(channel: str) -> TopicRow:
    name = "group:{group}" if channel == GROUP else channel
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
        description=f"Retained playlist of the `{name}` channel: its whole current content. "
        f"An empty retained payload clears the channel. {_INBOUND_NOTE}"
        + (_GROUP_NOTE if channel == GROUP else ""),
        scope=channel,
    )


def _alert_row(scope: str) -> TopicRow:
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
        f"its expiry or an empty retained payload ends it. {_INBOUND_NOTE}"
        + (_GROUP_NOTE if scope == GROUP else ""),
        scope=scope,
    )


_OWN: Final = "{root}/board/{board}/"

TOPIC_TABLE: Final[tuple[TopicRow, ...]] = (
    *(_content_row(channel) for channel in (*BROKER_CHANNELS, GROUP)),
    *(_alert_row(scope) for scope in (*BROKER_CHANNELS, GROUP)),
    TopicRow(
        name="assignment",
        operation="receiveAssignment",
        template=_OWN + "assignment",
        direction="receive",
        qos=1,
        retain=True,
        messages=("assignment",),
        purpose="assignment",
        title="assignment",
        description="Retained remote assignment (CONTRACT §8): the groups the board belongs "
        "to, and optionally its area codes, location and name. A higher version replaces the "
        "config's values at once (kept on disk: it holds across restarts without a broker); "
        "signed by a key that may sign `assignment` when the board requires signatures. "
        + _INBOUND_NOTE,
    ),
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


_CONTENT_ROWS: Final[dict[str, TopicRow]] = {
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
            return self.address(_CONTENT_ROWS[GROUP], group=group)
        return self._of(_CONTENT_ROWS[channel])

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
