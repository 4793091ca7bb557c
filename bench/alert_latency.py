"""Publish of a severe alert → `alert.started` and the first alert frame, while content rotates.

The first alert frame is proven by the `playback.started` event with layout `alert_full`,
which the agent sends right after presenting the frame. Each sample publishes a new
alert, waits for both events, then cancels it and waits for the content to come back.
Target: p99 ≤ 100 ms. Usage: python bench/alert_latency.py [--samples 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as `python bench/alert_latency.py`: the checkout goes on the path for `bench` and `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import board, machine, percentile
from tests.support import COMMUNE_TOPIC, ROOT, board_topic, event_matcher, playlist, text_item


def alert(alert_id: str, msg_type: str = "alert") -> bytes:
    now = datetime.now(UTC)
    return json.dumps(
        {
            "type": "alert",
            "id": alert_id,
            "msg_type": msg_type,
            "status": "actual",
            "sender": "hanoi-civil-defense",
            "sent": now.isoformat(),
            "expires": (now + timedelta(hours=1)).isoformat(),
            "severity": "severe",
            "urgency": "immediate",
            "headline": "Bão số 3 đổ bộ: người dân ở trong nhà",
            "description": "Gió mạnh cấp 10, giật cấp 12, mưa rất to từ chiều nay đến sáng mai.",
        },
        ensure_ascii=False,
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    events = board_topic("events")
    started_ms: list[float] = []
    frame_ms: list[float] = []
    items = [
        text_item(f"tin-{n}", f"Thông báo số {n}: lịch cắt điện", duration_s=1) for n in range(5)
    ]
    with board((1920, 1080)) as (observer, _agent):
        observer.publish(COMMUNE_TOPIC, playlist(1, items))  # content rotates every second
        observer.wait_for(event_matcher(events, "playback.started"))
        for n in range(args.samples):
            alert_id = f"bao-{n}"
            topic = f"{ROOT}/alert/city/{alert_id}"
            mark = observer.mark()
            sent = time.monotonic()
            observer.publish(topic, alert(alert_id))
            started = observer.wait_for(
                event_matcher(events, "alert.started", alert_id=alert_id), start=mark
            )
            shown = observer.wait_for(
                event_matcher(events, "playback.started", item_id=alert_id), start=mark
            )
            started_ms.append((started.at - sent) * 1000)
            frame_ms.append((shown.at - sent) * 1000)
            mark = observer.mark()
            time.sleep(0.1)
            observer.publish(topic, alert(alert_id, "cancel"))
            observer.wait_for(event_matcher(events, "alert.ended", alert_id=alert_id), start=mark)
            time.sleep(0.3)  # let content rotate again before the next alert
    print(f"machine: {machine()}")
    print(
        f"severe alert publish → agent, {len(frame_ms)} samples, headless 1920x1080, "
        "content rotating every second"
    )
    for name, samples in (("alert.started", started_ms), ("first alert frame", frame_ms)):
        print(
            f"  {name:18s} p50 {percentile(samples, 50):6.1f} ms   "
            f"p99 {percentile(samples, 99):6.1f} ms   max {max(samples):6.1f} ms"
        )
    print("  (target p99 ≤ 100 ms)")


if __name__ == "__main__":
    main()
