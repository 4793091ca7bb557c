"""The heartbeat's CPU, memory and disk figures read from /proc (agent.system_figures)
say what psutil says: psutil itself is the oracle, on this machine's real /proc."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil
import pytest

from agent.health import SystemProbe
from agent.system_figures import (
    SystemFigures,
    busy_percent,
    disk_free_bytes,
    memory_percent,
    read_cpu_times,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_cpu_times_are_psutils_read_from_the_same_line() -> None:
    # Counters only grow: psutil's reading lies between two of ours, field by field.
    first = read_cpu_times()
    theirs = psutil.cpu_times()
    last = read_cpu_times()
    assert first is not None
    assert last is not None
    assert len(theirs) == len(first) == 10
    for ours_before, psutils, ours_after in zip(first, theirs, last, strict=True):
        assert ours_before <= psutils <= ours_after


def test_busy_leaves_out_idle_iowait_and_the_guest_time_counted_twice() -> None:
    before = (100.0, 10.0, 50.0, 900.0, 20.0, 1.0, 2.0, 0.0, 3.0, 1.0)
    # user +10 (4 of it guest, 1 guest_nice), nice +2, system +3, idle +80, iowait +5
    after = (110.0, 12.0, 53.0, 980.0, 25.0, 1.0, 2.0, 0.0, 7.0, 2.0)
    assert busy_percent(before, after) == 15.0  # (105 - 5) total, 15 of it busy
    assert busy_percent(after, after) == 0.0  # nothing elapsed: psutil says 0.0
    backwards = (*after[:3], after[3] - 1, *after[4:])  # a counter that went back: 0
    assert busy_percent(after, backwards) == 0.0


def test_cpu_percent_follows_psutil_over_the_same_interval() -> None:
    figures = SystemFigures()
    psutil.cpu_percent(None)
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:  # some busy time, so the share is not all idle
        sum(range(1000))
    ours, theirs = figures.cpu_percent(), psutil.cpu_percent(None)
    assert abs(ours - theirs) <= 10  # the same half second, read microseconds apart


def test_memory_and_disk_are_psutils() -> None:
    assert abs(SystemFigures().memory_percent() - psutil.virtual_memory().percent) <= 1.0
    here = Path(__file__).parent
    assert abs(disk_free_bytes(here) - psutil.disk_usage(str(here)).free) <= 64 * 2**20


def test_what_psutil_would_estimate_is_left_to_psutil(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  1000 kB\nMemFree:  400 kB\n")  # before Linux 3.14
    assert memory_percent(meminfo) is None
    meminfo.write_text("MemTotal:  1000 kB\nMemAvailable:  250 kB\n")
    assert memory_percent(meminfo) == 75.0
    stat = tmp_path / "stat"
    stat.write_text("cpu  1 2 3 4 5 6 7\ncpu0 1 2 3 4 5 6 7\n")  # before Linux 2.6.11
    assert read_cpu_times(stat) is None


def test_the_heartbeat_probe_reads_them_without_psutil(tmp_path: Path) -> None:
    system = SystemProbe(tmp_path).read()
    assert system.cpu_percent is not None
    assert 0 <= system.cpu_percent <= 100
    assert system.mem_percent is not None
    assert 0 < system.mem_percent < 100
    assert system.disk_free_mb is not None
    assert system.disk_free_mb > 0
    assert SystemProbe(tmp_path / "gone").read().disk_free_mb is None
