"""The heartbeat (CONTRACT §3): the board's periodic health report, part by part."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from agent.messages.assignment import AssignmentHealth
from agent.messages.base import Channel, Outbound, Timestamp
from agent.messages.keyring import TrustHealth


class NowShowing(Outbound):
    item_id: str
    channel: Channel | Literal["alert"]
    since: Timestamp


class ChannelContent(Outbound):
    version: int
    items: int


# Where frames go: a screen, memory (and a snapshot file), or a serial LED controller.
OutputKind = Literal["screen", "headless", "serial"]


class DisplayHealth(Outbound):
    output: OutputKind
    width: int
    height: int
    fps: float
    frames: int
    brightness: int | None
    power: Literal["on", "off"]
    # Addition: characters left out of drawn frames because no bundled font has them.
    missing_glyphs: int = 0
    # Addition: the SDL video driver drawing a `screen` (x11, wayland, KMSDRM); `offscreen`
    # or `dummy` mean nothing is visible (a display.error said so at start). null when
    # the output is not an SDL display (headless, serial).
    driver: str | None = None
    # Addition (CONTRACT §6): an extreme or severe alert switched the display on or lifted
    # its brightness; `power` and `brightness` say what the output has, not the setting.
    woken_by_alert: bool = False
    # Addition (CONTRACT §10): video frames skipped since start to keep clips in time (a
    # board that cannot decode fast enough drops frames, it never plays slower).
    frames_dropped: int = 0
    # Addition (CONTRACT §10): the decoder of the last clip played, e.g. "h264 (software)"
    # or "h264_v4l2m2m (hardware)"; null until a clip has played.
    video_decoder: str | None = None


class SerialHealth(Outbound):
    port: str
    protocol: str
    connected: bool
    frames_sent: int
    errors: int


class SystemHealth(Outbound):
    cpu_percent: float | None
    cpu_temp_c: float | None
    mem_percent: float | None
    disk_free_mb: int | None
    load1: float | None
    clock_synced: bool | None


class MqttHealth(Outbound):
    connected_since: Timestamp | None
    reconnects: int
    outbox: int
    # Addition: messages the bounded outbox had to drop (oldest first) since installation.
    outbox_dropped: int = 0
    # Additions (connection side, see docs/contract.md): the MQTT version in use ("5" or
    # "3.1.1"), the last connection failure or broker refusal and when, publishes and
    # subscriptions the broker denied, messages not sent because the broker cannot take
    # their size.
    protocol: Literal["5", "3.1.1"] | None = None
    last_error: str | None = None
    last_error_at: Timestamp | None = None
    denied: int = 0
    too_large: int = 0
    # Addition: messages dropped since start because they were larger than the broker takes
    # (the outbox's hard cap, or the broker's announced maximum packet size).
    outbox_oversize: int = 0
    # Addition: damaged outbox spool lines set aside at start-up (never sent).
    outbox_quarantined: int = 0
    # Addition: inbound QoS 0 messages dropped since start because more than the link's
    # backlog of them waited for the core (a flood; QoS 1 is never dropped).
    dropped_inbound: int = 0


class MqttAlertSource(Outbound):
    """The broker's alert topics as a source of alerts."""

    kind: Literal["mqtt"] = "mqtt"
    # The last payload received on an alert topic since start (whatever became of it);
    # null when none has arrived. The link's own health is the heartbeat's `mqtt`.
    last_message_at: Timestamp | None


class FeedAlertSource(Outbound):
    """One `[alerts] feeds` URL as a source of alerts (CONTRACT §6)."""

    kind: Literal["feed"] = "feed"
    url: str
    last_success_at: Timestamp | None  # the feed was last read (200 or 304) and understood
    last_error: str | None  # the latest problem with the feed or one of its entries
    last_error_at: Timestamp | None
    entries: int  # entries in the feed when it was last read


AlertSource = Annotated[MqttAlertSource | FeedAlertSource, Field(discriminator="kind")]


class AlertsHealth(Outbound):
    """The heartbeat's `alerts` object: each path alerts arrive on, and how it fares. A
    board with a broker and two feeds lists three sources: `mqtt` first, then the feeds
    in the order of `[alerts] feeds`."""

    sources: list[AlertSource] = Field(default_factory=list)
    # The board has neither `[board] area_codes` nor a location: it shows CAP alerts
    # meant for some areas without knowing whether it is in one.
    untargeted: bool = False
    # Payloads received again with the same bytes (retained replays after a reconnect,
    # or one alert on two paths): said by no event, counted here.
    replays: int = 0


HEARTBEAT_ALERT_IDS = 100


class Heartbeat(Outbound):
    type: Literal["heartbeat"] = "heartbeat"
    board_id: str
    seq: int
    sent_at: Timestamp
    agent_version: str
    uptime_s: int
    now_showing: NowShowing | None
    alerts_active: list[str]  # at most HEARTBEAT_ALERT_IDS of them, most severe first
    content: dict[Channel, ChannelContent | None]
    display: DisplayHealth
    serial: SerialHealth | None
    system: SystemHealth
    mqtt: MqttHealth | None
    errors_total: int
    # Addition: how many alerts are active. A heartbeat must stay small (thousands of
    # active alerts would make it larger than a broker takes): `alerts_active` lists the
    # first HEARTBEAT_ALERT_IDS ids only, and this says whether that is all of them.
    alerts_active_count: int = 0
    # Addition: the sources of alerts (CONTRACT §6): the broker and each alert feed.
    alerts: AlertsHealth = Field(default_factory=AlertsHealth)
    # Addition (CONTRACT §7): "off" without [trust]; else whether signatures are required,
    # the keyring version in force and the keys trusted.
    trust: TrustHealth | Literal["off"] = "off"
    # Addition (CONTRACT §8): where the board belongs: the remote assignment's version in
    # force (null: the config's values) and its groups (channels `group:{g}`).
    assignment: AssignmentHealth = Field(
        default_factory=lambda: AssignmentHealth(version=None, groups=[])
    )

    def state_line(self) -> str:
        """The board's state as a technician reads it in the log: logged at INFO when it
        changes (the whole heartbeat is logged at DEBUG)."""
        showing, display = self.now_showing, self.display
        shown = f"showing {showing.item_id} ({showing.channel})" if showing else "showing nothing"
        screen = f"display {display.output} {display.width}x{display.height} power {display.power}"
        if display.brightness is not None:
            screen += f" brightness {display.brightness}%"
        if display.woken_by_alert:
            screen += " (woken by an alert)"
        parts = [shown, f"alerts {', '.join(self.alerts_active) or 'none'}", screen]
        if self.serial is not None:
            parts.append("serial " + ("connected" if self.serial.connected else "not connected"))
        if self.mqtt is not None:
            parts.append("broker " + ("connected" if self.mqtt.connected_since else "offline"))
        return "; ".join(parts)
