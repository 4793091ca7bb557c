"""Heartbeats: system figures (cheap to read, None where the platform has none) and the
assembly of a heartbeat from what each part reports."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
from collections.abc import Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from agent import __version__
from agent.content import channel_summary
from agent.messages import (
    CHANNELS,
    HEARTBEAT_ALERT_IDS,
    AlertsHealth,
    AlertSource,
    AssignmentHealth,
    Channel,
    DisplayHealth,
    Heartbeat,
    MqttAlertSource,
    MqttHealth,
    NowShowing,
    Playlist,
    SerialHealth,
    SystemHealth,
    TrustHealth,
    group_channel,
)
from agent.playback import rotation_order
from agent.system_figures import SystemFigures

if TYPE_CHECKING:
    from agent.alert_feeds import FeedPoller
    from agent.link import MqttLink
    from agent.outbox import Outbox

log = logging.getLogger(__name__)

_THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")  # the SoC on a Raspberry Pi
_TIME_ERROR = 5  # adjtimex(2): the kernel clock is not synchronised


def cpu_temperature_c() -> float | None:
    try:
        return round(int(_THERMAL_ZONE.read_text().strip()) / 1000, 1)
    except (OSError, ValueError):
        return None


@functools.cache
def _libc() -> ctypes.CDLL:
    # Found once: find_library runs ldconfig, too slow to do for every alert's latency.
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def clock_synced() -> bool | None:
    """Whether NTP (chrony, systemd-timesyncd) has synchronised the kernel clock."""
    try:
        timex = ctypes.create_string_buffer(512)  # struct timex, modes = 0: read only
        state = _libc().adjtimex(timex)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return bool(state != _TIME_ERROR)


class SystemProbe:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.figures = SystemFigures()  # primed: each reading measures since the last

    def read(self) -> SystemHealth:
        try:
            disk_free_mb: int | None = self.figures.disk_free_bytes(self.state_dir) // 2**20
        except OSError:
            disk_free_mb = None
        return SystemHealth(
            cpu_percent=self.figures.cpu_percent(),
            cpu_temp_c=cpu_temperature_c(),
            mem_percent=self.figures.memory_percent(),
            disk_free_mb=disk_free_mb,
            load1=round(os.getloadavg()[0], 2),
            clock_synced=clock_synced(),
        )


def mqtt_health(link: MqttLink | None, tz: tzinfo, outbox: Outbox | None) -> MqttHealth | None:
    """The heartbeat's `mqtt` block: the link's figures and the outbox's counts."""
    if link is None:
        return None
    health = link.health(tz, outbox)
    if outbox is None:
        return health
    counts = {"outbox_oversize": outbox.oversize}
    counts["outbox_quarantined"] = outbox.quarantined
    return health.model_copy(update=counts)


def alerts_health(
    *, mqtt: bool, last_message_at: datetime | None, feeds: FeedPoller | None
) -> AlertsHealth:
    """The heartbeat's `alerts` object: the broker's alert topics (a board with `[mqtt]`),
    then each feed as its poller last saw it."""
    sources: list[AlertSource] = []
    if mqtt:
        sources.append(MqttAlertSource(last_message_at=last_message_at))
    if feeds is not None:
        from agent.alert_feeds import sources_health  # loaded already: the poller runs

        sources += sources_health(feeds.statuses())
    return AlertsHealth(sources=sources)


def assemble_heartbeat(
    *,
    board_id: str,
    seq: int,
    sent_at: datetime,
    uptime_s: int,
    now_showing: NowShowing | None,
    alerts_active: list[str],
    alerts: AlertsHealth,
    playlists: Mapping[Channel, Playlist],
    display: DisplayHealth,
    serial: SerialHealth | None,
    system: SystemHealth,
    mqtt: MqttHealth | None,
    errors_total: int,
    trust: TrustHealth | Literal["off"] = "off",
    assignment: AssignmentHealth | None = None,
) -> Heartbeat:
    """A heartbeat from the figures each part gives (CONTRACT §4)."""
    return Heartbeat(
        board_id=board_id,
        seq=seq,
        sent_at=sent_at,
        agent_version=__version__,
        uptime_s=uptime_s,
        now_showing=now_showing,
        alerts_active=alerts_active[:HEARTBEAT_ALERT_IDS],
        alerts_active_count=len(alerts_active),
        alerts=alerts,
        content={
            channel: channel_summary(playlists.get(channel))
            for channel in heartbeat_channels(playlists, assignment)
        },
        display=display,
        serial=serial,
        system=system,
        mqtt=mqtt,
        errors_total=errors_total,
        trust=trust,
        assignment=assignment or AssignmentHealth(version=None, groups=[]),
    )


def heartbeat_channels(
    playlists: Mapping[Channel, Playlist], assignment: AssignmentHealth | None
) -> list[Channel]:
    """The heartbeat's `content` keys: every fixed channel, each group the board belongs
    to (null while it holds nothing), and any other channel holding content."""
    groups = [group_channel(group) for group in assignment.groups] if assignment else []
    return rotation_order([*CHANNELS, *groups, *playlists])


class HeartbeatTimer:
    """When the next heartbeat is due: every interval, without a burst after a suspend."""

    def __init__(self, interval_s: float, first_at: float) -> None:
        self.interval_s = interval_s
        self.next_at = first_at

    def due(self, mono: float) -> bool:
        return mono >= self.next_at

    def sent(self, mono: float) -> None:
        self.next_at += self.interval_s
        if self.next_at < mono:  # we were suspended: no burst
            self.next_at = mono + self.interval_s
