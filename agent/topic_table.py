"""The board's MQTT topics (CONTRACT §2, §7, §8) as one table.

`TOPIC_TABLE` has a row per topic: its address template, direction, QoS, retain flag and
the payloads it carries. Everything else reads it: `MqttLink` subscribes to the receive
rows and publishes with each send row's QoS and retain flag, `agent.topics.Topics` works
out one board's addresses and routes inbound topics by it, and `agent.schema` generates
the AsyncAPI document from it. A new topic is a new row here, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from agent.messages import BROKER_CHANNELS

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


CONTENT_ROWS: Final[dict[str, TopicRow]] = {
    row.scope: row for row in TOPIC_TABLE if row.purpose == "content" and row.scope is not None
}


def row_for(purpose: Purpose) -> TopicRow:
    """The row of a board-level topic (status, heartbeat, command, …)."""
    return _BY_PURPOSE[purpose]
