"""The heartbeat's CPU, memory and disk figures, computed as psutil computes them, read
from /proc and statvfs on Linux (what boards run): psutil itself costs ≈ 0.75 MB of RSS
from the start (issue 18: measured at the first frame, 57.7 → 57.0 MB). Where /proc
lacks what the formulas need (no /proc, a pre-3.2 kernel's shorter CPU line, no usable
MemAvailable), psutil is imported and asked, so a figure never differs from its own.

psutil 7.2's formulas, followed to the float: CPU times are ticks / SC_CLK_TCK; busy is
the total minus guest and guest_nice (already in user and nice) minus idle and iowait,
over per-field deltas clamped at 0, rounded to 0.1; memory is (MemTotal − MemAvailable)
/ MemTotal, in bytes, rounded to 0.1; free disk is f_bavail × f_frsize.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_PROC_STAT = Path("/proc/stat")
_PROC_MEMINFO = Path("/proc/meminfo")
# user nice system idle iowait irq softirq steal guest guest_nice (Linux ≥ 3.2)
_CPU_FIELDS = 10
_GUEST, _GUEST_NICE, _IDLE, _IOWAIT = 8, 9, 3, 4

CpuTimes = tuple[float, ...]


def read_cpu_times(stat: Path = _PROC_STAT) -> CpuTimes | None:
    """System-wide CPU times in seconds, psutil's way; None if the line is not the
    10-field one (psutil then knows what to do with it)."""
    with stat.open("rb") as source:
        values = source.readline().split()
    if len(values) < _CPU_FIELDS + 1 or values[0] != b"cpu":
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return tuple(float(value) / ticks for value in values[1 : _CPU_FIELDS + 1])


def busy_percent(before: CpuTimes, after: CpuTimes) -> float:
    """Share of CPU time not idle between two samples (psutil.cpu_percent's sum)."""
    deltas = [max(0, new - old) for old, new in zip(before, after, strict=True)]
    total = sum(deltas)
    total -= deltas[_GUEST]
    total -= deltas[_GUEST_NICE]
    busy = total - deltas[_IDLE] - deltas[_IOWAIT]
    try:
        return round((busy / total) * 100, 1)
    except ZeroDivisionError:
        return 0.0


def memory_percent(meminfo: Path = _PROC_MEMINFO) -> float | None:
    """Used memory as psutil.virtual_memory().percent; None where psutil would estimate
    (MemAvailable absent, 0 or beyond the total: old kernels, some containers)."""
    wanted = {b"MemTotal:": 0, b"MemAvailable:": 0}
    with meminfo.open("rb") as source:
        for line in source:
            fields = line.split()
            if fields and fields[0] in wanted:
                wanted[fields[0]] = int(fields[1]) * 1024
    total, available = wanted[b"MemTotal:"], wanted[b"MemAvailable:"]
    if not 0 < available <= total:
        return None
    return round((float(total - available) / total) * 100, 1)


def disk_free_bytes(path: Path) -> int:
    """What psutil.disk_usage(path).free says on POSIX; raises OSError as it does."""
    figures = os.statvfs(path)
    return figures.f_bavail * figures.f_frsize


class SystemFigures:
    """CPU since the previous reading, memory and disk now; primed when made."""

    def __init__(self) -> None:
        self._cpu_before: CpuTimes | None = None
        with contextlib.suppress(OSError):
            self._cpu_before = read_cpu_times()
        if self._cpu_before is None:
            _prime_psutil()

    def cpu_percent(self) -> float:
        if self._cpu_before is not None:
            after = read_cpu_times()
            if after is not None:
                before, self._cpu_before = self._cpu_before, after
                return busy_percent(before, after)
            self._cpu_before = None  # the cpu line changed shape under the agent: never
            _prime_psutil()  # seen; psutil from now on
        import psutil

        return float(psutil.cpu_percent(None))

    def memory_percent(self) -> float:
        try:
            percent = memory_percent()
        except OSError:  # no /proc (macOS: the agent runs there for development)
            percent = None
        if percent is None:
            import psutil

            return float(psutil.virtual_memory().percent)
        return percent

    def disk_free_bytes(self, path: Path) -> int:
        if hasattr(os, "statvfs"):
            return disk_free_bytes(path)
        import psutil  # Windows: not a board, but the agent runs there for development

        return int(psutil.disk_usage(str(path)).free)


def _prime_psutil() -> None:
    import psutil

    psutil.cpu_percent(None)  # its counter: the next reading measures from here
