"""The cost of one `tick`, in-process (issue 11: the hot path must stay as cheap).

Two cases, 3000 ticks each at 30 per second of the injected clock, best of three runs:
a `headline` with its ticker running (a redraw of the moving zone every tick), and 20
items waiting for images that never arrive beside a text item (the playback asks every
waiting item whether it may show, every tick: readiness used to be a file check per
image, it is a set lookup now). Run from a checkout: `python -m bench.tick_cost`.
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


def per_tick_us(items: list[dict[str, Any]]) -> float:
    best = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock()
        agent = Agent(make_config(Path(tmp)), clock=clock, output=HeadlessOutput((320, 180)))
        agent.link = None
        agent.start()
        agent.handle(Received(COMMUNE_TOPIC, playlist(1, items), retained=False))
        for _ in range(3):
            started = time.perf_counter()
            for _ in range(TICKS):
                clock.advance(1 / 30)
                agent.tick()
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
    print(f"headline with its ticker: {per_tick_us(headline):.0f} µs a tick")
    print(f"20 items waiting for images + text: {per_tick_us([*waiting, text]):.0f} µs a tick")


if __name__ == "__main__":
    main()
