"""System health figures for heartbeats: cheap to read, None where the platform has none."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from pathlib import Path

import psutil

from agent.messages import SystemHealth

log = logging.getLogger(__name__)

_THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")  # the SoC on a Raspberry Pi
_TIME_ERROR = 5  # adjtimex(2): the kernel clock is not synchronised


def cpu_temperature_c() -> float | None:
    try:
        return round(int(_THERMAL_ZONE.read_text().strip()) / 1000, 1)
    except (OSError, ValueError):
        return None


def clock_synced() -> bool | None:
    """Whether NTP (chrony, systemd-timesyncd) has synchronised the kernel clock."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        timex = ctypes.create_string_buffer(512)  # struct timex, modes = 0: read only
        state = libc.adjtimex(timex)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return bool(state != _TIME_ERROR)


class SystemProbe:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        psutil.cpu_percent(None)  # primes the counter: later calls measure since the last

    def read(self) -> SystemHealth:
        try:
            disk_free_mb: int | None = psutil.disk_usage(str(self.state_dir)).free // 2**20
        except OSError:
            disk_free_mb = None
        return SystemHealth(
            cpu_percent=psutil.cpu_percent(None),
            cpu_temp_c=cpu_temperature_c(),
            mem_percent=psutil.virtual_memory().percent,
            disk_free_mb=disk_free_mb,
            load1=round(os.getloadavg()[0], 2),
            clock_synced=clock_synced(),
        )
