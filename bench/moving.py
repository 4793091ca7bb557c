"""CPU of the whole `signage-agent run` process while a moving zone runs (issue 18).

A real Mosquitto and a real agent process (headless, 1920×1080, 30 fps): one `headline`
item with its ticker running, then one static `fullscreen_text` item, each for
`--seconds` (the share of one core the process used, user + system, as psutil reads it;
the first seconds after the item went on screen are not counted), and the share of its
main thread (the core loop, playback, renderer, output: what issue 18 is about; the
others are paho's network loop, the download workers, the watchdog) from the kernel's
per-thread run time in nanoseconds (/proc/PID/task/TID/schedstat). Rounds alternate the
two cases so that load from other jobs on a shared machine hits both alike.

Usage: python bench/moving.py [--seconds 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import board, machine
from tests.support import COMMUNE_TOPIC, board_topic, event_matcher, playlist

TICKER = "Cảnh báo ngập lụt • Mất điện khu phố 3 từ 8 giờ đến 11 giờ • Nước sinh hoạt cấp lại"
CASES = {
    "headline + ticker": {
        "layout": "headline",
        "fields": {
            "title": "Lịch tiêm chủng",
            "body": "Trạm y tế phường tiêm vắc-xin sởi cho trẻ từ 9 tháng tuổi, sáng thứ Bảy.",
            "ticker": TICKER,
        },
    },
    "fullscreen_text (static)": {
        "layout": "fullscreen_text",
        "fields": {"text": "Mất điện khu vực tổ dân phố 5 từ 8 giờ đến 11 giờ."},
    },
}
SETTLE_S = 2.0


def run_ns(pid: int) -> dict[int, int]:
    """Nanoseconds each thread of `pid` has run (threads that ended are not counted)."""
    times = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            times[int(task.name)] = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # it ended meanwhile
    return times


def measure(case: str, seconds: float) -> tuple[float, float, float]:
    """Percent of one core for one case, on a fresh board: the process as psutil reads
    it (clock ticks, sampled), all its threads and its main thread as the scheduler
    counted them (nanoseconds)."""
    item = {"id": "m", "duration_s": 3600, **CASES[case]}
    with board((1920, 1080), heartbeat_s=max(5.0, seconds / 2)) as (observer, agent):
        assert agent.process is not None
        process = psutil.Process(agent.process.pid)
        observer.publish(COMMUNE_TOPIC, playlist(1, [item]))
        observer.wait_for(event_matcher(board_topic("events"), "playback.started"))
        time.sleep(SETTLE_S)
        pid = process.pid
        before, started, ran = process.cpu_times(), time.monotonic(), run_ns(pid)
        time.sleep(seconds)
        after, elapsed, ran_after = process.cpu_times(), time.monotonic() - started, run_ns(pid)
    cpu = (after.user + after.system) - (before.user + before.system)
    main_s = (ran_after.get(pid, 0) - ran.get(pid, 0)) / 1e9
    threads_s = sum(ns - ran.get(tid, 0) for tid, ns in ran_after.items()) / 1e9
    return 100 * cpu / elapsed, 100 * threads_s / elapsed, 100 * main_s / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"signage-agent run, headless 1920x1080, 30 fps, {args.seconds:g} s per case")
    results: dict[str, list[tuple[float, float, float]]] = {case: [] for case in CASES}
    for _ in range(args.rounds):
        for case in CASES:
            shares = measure(case, args.seconds)
            results[case].append(shares)
            share, threads, main = shares
            print(
                f"  {case:26} {share:5.2f} % of one core (threads {threads:.3f} %,"
                f" main thread {main:.3f} %)",
                flush=True,
            )
    for case, rounds in results.items():
        for column, name in enumerate(("process", "threads", "main thread")):
            listed = " / ".join(f"{shares[column]:.3f}" for shares in rounds)
            print(f"{case:26} {name:12} {listed} % of one core")


if __name__ == "__main__":
    main()
