"""Publish → `playback.started` of a replacing item, through a real broker.

Headless 1920×1080; each sample publishes a new playlist version whose single item
replaces the one on screen, and times until the proof-of-play event arrives.
Target: p99 ≤ 100 ms. Usage: python bench/latency.py [--samples 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# Run as `python bench/latency.py`: the checkout goes on the path for `bench` and `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import board, machine, percentile
from tests.support import COMMUNE_TOPIC, Message, board_topic, playlist, text_item

TEXT = (
    "Thông báo khẩn cấp: Ủy ban nhân dân phường Phúc Xá thông báo lịch cắt điện, "
    "đường Nguyễn Trãi, mẫu số {n}."
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    events = board_topic("events")
    latencies: list[float] = []
    with board((1920, 1080)) as (observer, _agent):
        for n in range(args.samples + 5):
            item_id = f"tin-{n}"
            mark = observer.mark()
            payload = playlist(n + 1, [text_item(item_id, TEXT.format(n=n), duration_s=600)])
            sent = time.monotonic()
            observer.publish(COMMUNE_TOPIC, payload)

            def started(m: Message, i: str = item_id) -> bool:
                return (
                    m.topic == events
                    and json.loads(m.payload).get("kind") == "playback.started"
                    and json.loads(m.payload).get("item_id") == i
                )

            got = observer.wait_for(
                started,
                timeout=5,
                start=mark,
            )
            if n >= 5:  # the first few warm caches (fonts, glyphs)
                latencies.append((got.at - sent) * 1000)
    print(f"machine: {machine()}")
    print(f"publish → playback.started, {len(latencies)} samples, headless 1920x1080")
    for p in (50, 95, 99):
        print(f"  p{p}: {percentile(latencies, p):6.1f} ms")
    print(f"  max: {max(latencies):6.1f} ms   (target p99 ≤ 100 ms)")


if __name__ == "__main__":
    main()
