"""CPU and memory of a whole process tree (a browser and its renderers, or the agent).

CPU is the sum over every process seen in the window of its user + system time spent
inside the window: a process already there at the start counts from its first reading,
one born during the window counts in full, one that exits counts up to its last reading
(sampled every `interval` s, so at most that much of a dying child's time is missed).
Memory is the summed PSS (proportional set size: each shared page split between the
processes that map it), which is what the tree costs the machine; summed RSS would count
every shared library once per process.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

Key = tuple[int, float]  # (pid, create_time): a pid reused during the window is another


@dataclass(frozen=True)
class TreeSample:
    cpu_percent: float  # of one core, over the window
    pss_mb: float  # median of the window's samples
    processes: int  # the most seen at once


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


class TreeMeter:
    """Measures the tree that `members()` lists at each sample (it may change)."""

    def __init__(self, members: Callable[[], list[psutil.Process]]) -> None:
        self.members = members

    def measure(self, seconds: float, interval: float = 0.5) -> TreeSample:
        first: dict[Key, float] = {}
        last: dict[Key, float] = {}
        pss: list[float] = []
        most = 0
        started = time.monotonic()
        born_ok = False  # the first sample sets the baseline: nothing is "born" in it
        next_pss = started
        while True:
            now = time.monotonic()
            alive = self._read(first, last, born_in_window=born_ok)
            born_ok = True
            most = max(most, len(alive))
            if now >= next_pss:
                pss.append(self._pss(alive))
                next_pss = now + 2.0  # reading smaps costs the bench, not the contender
            if now - started >= seconds:
                break
            time.sleep(min(interval, max(0.0, seconds - (now - started))))
        elapsed = time.monotonic() - started
        used = sum(last[key] - first[key] for key in last)
        return TreeSample(100 * used / elapsed, statistics.median(pss), most)

    def _read(
        self, first: dict[Key, float], last: dict[Key, float], *, born_in_window: bool
    ) -> list[psutil.Process]:
        alive = []
        for process in self.members():
            try:
                key = (process.pid, process.create_time())
                cpu = _cpu(process)
            except psutil.Error:
                continue  # gone between the listing and the reading
            # Born after the first sample: all of its time is inside the window.
            first.setdefault(key, 0.0 if born_in_window else cpu)
            last[key] = cpu
            alive.append(process)
        return alive

    @staticmethod
    def _pss(processes: list[psutil.Process]) -> float:
        total = 0
        for process in processes:
            try:
                total += process.memory_full_info().pss
            except psutil.Error:
                continue
        return total / 2**20


def descendants(root: psutil.Process, marker: str | None = None) -> list[psutil.Process]:
    """`root` and all its children, recursively; with `marker`, also any process whose
    command line holds it (a helper a browser double-forks is reparented to init but
    still belongs to it: its own --user-data-dir names it)."""
    members = [root]
    try:
        members += root.children(recursive=True)
    except psutil.Error:
        return []
    if marker is not None:
        known = {p.pid for p in members}
        for process in psutil.process_iter(["cmdline"]):
            cmdline = process.info["cmdline"] or []
            if process.pid not in known and any(marker in part for part in cmdline):
                members.append(process)
    return members
