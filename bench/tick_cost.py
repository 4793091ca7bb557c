"""The cost of one `tick`, in-process (issue 11: the hot path must stay as cheap).

Two cases, 3000 ticks each at 30 per second of the injected clock, best of three runs:
a `headline` with its ticker running (a redraw of the moving zone every tick), and 20
items waiting for images that never arrive beside a text item (the playback asks every
waiting item whether it may show, every tick: readiness used to be a file check per
image, it is a set lookup now). Each case twice: `Agent.tick` (a full turn: what tests
and a message get) and `Agent.step` (the loop's turn since issue 18: only the moving
zones while nothing arrived). The ticker also at 1920×1080, where its band is 6 times
wider. Run from a checkout: `python -m bench.tick_cost`.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.core import Agent
from agent.link_messages import Received
from agent.output import HeadlessOutput
from tests.support import COMMUNE_TOPIC, playlist
from tests.test_core import FakeClock, make_config

TICKS = 3000


def per_tick_us(
    items: list[dict[str, Any]], turn: str = "tick", size: tuple[int, int] = (320, 180)
) -> float:
    best = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock()
        agent = Agent(make_config(Path(tmp)), clock=clock, output=HeadlessOutput(size))
        agent.link = None
        agent.start()
        agent.handle(Received(COMMUNE_TOPIC, playlist(1, items), retained=False))
        agent.tick()
        step = getattr(agent, turn)
        for _ in range(3):
            started = time.perf_counter()
            for _ in range(TICKS):
                clock.advance(1 / 30)
                step()
            best = min(best, (time.perf_counter() - started) / TICKS)
        agent.fetcher.stop()
        agent.seq.close()
    return best * 1e6


def main() -> None:
    ticker = {"title": "Tin", "body": "Nội dung", "ticker": "Chạy chữ " * 20}
    headline = [{"id": "h", "layout": "headline", "fields": ticker, "duration_s": 3600}]
    sha = hashlib.sha256(b"never arrives").hexdigest()
    waiting: list[dict[str, Any]] = [
        {
            "id": f"i{n}",
            "layout": "image_caption",
            "fields": {"image": {"url": f"http://127.0.0.1:1/{n}.png", "sha256": sha}},
        }
        for n in range(20)
    ]
    text = {"id": "t", "layout": "fullscreen_text", "fields": {"text": "A"}, "duration_s": 3600}
    for turn in ("tick", "step"):
        for size in ((320, 180), (1920, 1080)):
            cost = per_tick_us(headline, turn, size)
            print(f"headline with its ticker, {size[0]}x{size[1]}, {turn}: {cost:.0f} µs")
        cost = per_tick_us([*waiting, text], turn)
        print(f"20 items waiting for images + text, {turn}: {cost:.0f} µs")


if __name__ == "__main__":
    main()
