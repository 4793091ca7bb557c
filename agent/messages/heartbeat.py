"""The heartbeat (CONTRACT §3): the board's periodic health report, part by part."""

from __future__ import annotations

from typing import Literal

from agent.messages.base import Channel, Outbound, Timestamp


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


HEARTBEAT_ALERT_IDS = 100


class AlertsHealth(Outbound):
    """Addition (CONTRACT §6): how the board handles alerts."""

    # The board has neither `[board] area_codes` nor a location: it shows CAP alerts
    # meant for some areas without knowing whether it is in one.
    untargeted: bool
    # Payloads received again with the same bytes (retained replays after a reconnect,
    # or one alert on two paths): said by no event, counted here.
    replays: int


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
    alerts: AlertsHealth | None = None

    def state_line(self) -> str:
        """The board's state as a technician reads it in the log: logged at INFO when it
        changes (the whole heartbeat is logged at DEBUG)."""
        showing, display = self.now_showing, self.display
        shown = f"showing {showing.item_id} ({showing.channel})" if showing else "showing nothing"
        screen = f"display {display.output} {display.width}x{display.height} power {display.power}"
        if display.brightness is not None:
            screen += f" brightness {display.brightness}%"
        parts = [shown, f"alerts {', '.join(self.alerts_active) or 'none'}", screen]
        if self.serial is not None:
            parts.append("serial " + ("connected" if self.serial.connected else "not connected"))
        if self.mqtt is not None:
            parts.append("broker " + ("connected" if self.mqtt.connected_since else "offline"))
        return "; ".join(parts)
