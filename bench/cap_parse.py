"""The cost of reading a CAP alert on the board (issue 12): parse + validate a storm
warning with 50 areas (a polygon of 12 corners and a geocode each), in-process, and
the memory its model keeps. Median and p90 of N runs after a warm-up.

Run from a checkout: `python bench/cap_parse.py --runs 200`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.cap import LatLon, parse_cap, target_message
from bench._harness import machine, percentile
from tests.cap_documents import many_areas


def parse_costs(document: bytes, runs: int) -> tuple[list[float], list[float]]:
    """Milliseconds to parse and validate `document`, and microseconds to target it (a
    board outside every area), `runs` times each after a warm-up."""
    parse_cap(document)  # warm-up: imports, regex compilation
    parse_ms: list[float] = []
    target_us: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        message = parse_cap(document)
        parse_ms.append((time.perf_counter() - started) * 1e3)
        started = time.perf_counter()
        target_message(message, "vi", frozenset(), LatLon(21.0285, 105.8542))
        target_us.append((time.perf_counter() - started) * 1e6)
    return parse_ms, target_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--areas", type=int, default=50)
    args = parser.parse_args()
    document = many_areas(args.areas)
    parse_ms, target_us = parse_costs(document, args.runs)
    tracemalloc.start()
    kept = parse_cap(document)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"machine: {machine()}")
    print(f"document: {len(document)} bytes, {len(kept.infos[0].areas)} areas, {args.runs} runs")
    print(
        f"parse + validate: median {statistics.median(parse_ms):.2f} ms, "
        f"p90 {percentile(parse_ms, 90):.2f} ms"
    )
    print(f"targeting (a board outside every area): median {statistics.median(target_us):.0f} µs")
    print(f"memory: peak {peak / 1024:.0f} KiB while parsing, {current / 1024:.0f} KiB kept")


if __name__ == "__main__":
    main()
