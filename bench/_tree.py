"""CPU and memory of a whole process tree (a browser and its renderers, or the agent).

CPU is the sum over every process seen in the window of its time spent inside the
window: a process already there at the start counts from its first reading, one born
during the window counts in full, one that exits counts up to its last reading (sampled
every `interval` s, so at most that much of a dying child's time is missed). Two clocks:
`run_percent`, the scheduler's run time in nanoseconds (/proc/PID/task/TID/schedstat,
summed over every thread of every process, each thread counted as a process is: from its
first reading, in full when born in the window, up to its last reading when it ends; so
a thread that ends in the window loses at most `interval` s of its time and never adds
any, and `ended_threads` says how many did), and `cpu_percent`, user + system time in
clock ticks (psutil: 10 ms each, so a static screen's 20 s is a few ticks and its
reading ± one). The run time is the one to compare idle contenders by; the ticks are
kept beside it.
Memory is the summed PSS (proportional set size: each shared page split between the
processes that map it), which is what the tree costs the machine; summed RSS would count
every shared library once per process.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

Key = tuple[int, float]  # (pid, create_time): a pid reused during the window is another
ThreadKey = tuple[int, float, int, int]  # the process's key, the tid and its start time


@dataclass(frozen=True)
class TreeSample:
    cpu_percent: float  # of one core, over the window (user + system, in clock ticks)
    pss_mb: float  # median of the window's samples
    processes: int  # the most seen at once
    run_percent: float = float("nan")  # of one core: the threads' run time, in ns
    threads: int = 0  # the most seen at once
    ended_threads: int = 0  # seen in the window, gone by its end (their last bit unseen)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


class TreeMeter:
    """Measures the tree that `members()` lists at each sample (it may change)."""

    def __init__(self, members: Callable[[], list[psutil.Process]]) -> None:
        self.members = members
        self._run_first: dict[ThreadKey, int] = {}  # per thread: run time at its first reading
        self._run_last: dict[ThreadKey, int] = {}
        self._threads = 0
        self._seen: set[ThreadKey] = set()  # the threads of the latest reading

    def measure(self, seconds: float, interval: float = 0.5) -> TreeSample:
        first: dict[Key, float] = {}
        last: dict[Key, float] = {}
        self._run_first, self._run_last, self._threads, self._seen = {}, {}, 0, set()
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
        ran = sum(self._run_last[key] - self._run_first[key] for key in self._run_last)
        return TreeSample(
            100 * used / elapsed,
            statistics.median(pss),
            most,
            run_percent=100 * ran / 1e9 / elapsed,
            threads=self._threads,
            ended_threads=len(self._run_last.keys() - self._seen),
        )

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
        seen: set[ThreadKey] = set()
        for process in alive:
            key = (process.pid, process.create_time())
            for tid, started, ran in _thread_runs(process.pid):
                thread = (*key, tid, started)
                self._run_first.setdefault(thread, 0 if born_in_window else ran)
                self._run_last[thread] = ran
                seen.add(thread)
        self._seen = seen
        self._threads = max(self._threads, len(seen))
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


def _thread_runs(pid: int) -> list[tuple[int, int, int]]:
    """(tid, start time in ticks since boot, run time in ns) of each thread of `pid`; a
    thread (or the process) gone while it is read is left out: its last reading stands."""
    runs = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    for task in tasks:
        try:
            ran = int((task / "schedstat").read_text().split()[0])
            stat = (task / "stat").read_text()
        except (OSError, ValueError, IndexError):
            continue
        # Field 22 (starttime) counted after the command name, which may hold spaces.
        started = int(stat.rsplit(")", 1)[1].split()[19])
        runs.append((int(task.name), started, ran))
    return runs


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
