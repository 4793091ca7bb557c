"""Publish of a severe alert → `alert.started` and the first alert frame, while content rotates.

The first alert frame is proven by the `playback.started` event with layout `alert_full`,
which the agent sends right after presenting the frame. Each sample publishes a new
alert, waits for both events, then cancels it and waits for the content to come back.
The JSON alert and a CAP 1.2 one (issue 12: a new identifier each sample, its Cancel
referencing it) take turns in one run on one board; the cost of parsing a CAP document
of 50 areas is printed after (bench/cap_parse.py). Target: p99 ≤ 100 ms.
Usage: python bench/alert_latency.py [--samples 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

# Run as `python bench/alert_latency.py`: the checkout goes on the path for `bench` and `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import board, machine, percentile
from bench.cap_parse import parse_costs
from tests.cap_documents import cap_alert, many_areas
from tests.support import COMMUNE_TOPIC, ROOT, board_topic, event_matcher, playlist, text_item

Kind = Literal["json", "cap"]


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


def cap_pair(identifier: str) -> tuple[bytes, bytes]:
    """A severe CAP alert of its own incident, and the Cancel that references it."""
    sent = datetime.now(UTC).replace(microsecond=0)
    first = cap_alert(identifier, sent, expires=sent + timedelta(hours=1))
    cancel = cap_alert(
        f"{identifier}-cancel", sent, msg_type="Cancel", references=((identifier, sent),)
    )
    return first, cancel


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=50, help="per kind of alert")
    args = parser.parse_args()
    events = board_topic("events")
    started_ms: dict[Kind, list[float]] = {"json": [], "cap": []}
    frame_ms: dict[Kind, list[float]] = {"json": [], "cap": []}
    items = [
        text_item(f"tin-{n}", f"Thông báo số {n}: lịch cắt điện", duration_s=1) for n in range(5)
    ]
    with board((1920, 1080)) as (observer, _agent):
        observer.publish(COMMUNE_TOPIC, playlist(1, items))  # content rotates every second
        observer.wait_for(event_matcher(events, "playback.started"))
        for n in range(args.samples * 2):
            kind: Kind = "json" if n % 2 == 0 else "cap"  # in turns: the same load for both
            alert_id = f"bao-{n}" if kind == "json" else f"HN-PCTT-BENCH-{n}"
            if kind == "json":
                payload, cancel = alert(alert_id), alert(alert_id, "cancel")
            else:
                payload, cancel = cap_pair(alert_id)
            topic = f"{ROOT}/alert/city/bao-{n}"
            mark = observer.mark()
            sent = time.monotonic()
            observer.publish(topic, payload)
            started = observer.wait_for(
                event_matcher(events, "alert.started", alert_id=alert_id), start=mark
            )
            shown = observer.wait_for(
                event_matcher(events, "playback.started", item_id=alert_id), start=mark
            )
            started_ms[kind].append((started.at - sent) * 1000)
            frame_ms[kind].append((shown.at - sent) * 1000)
            mark = observer.mark()
            time.sleep(0.1)
            observer.publish(topic, cancel)
            observer.wait_for(event_matcher(events, "alert.ended", alert_id=alert_id), start=mark)
            time.sleep(0.3)  # let content rotate again before the next alert
    print(f"machine: {machine()}")
    print(
        f"severe alert publish → agent, {args.samples} samples of each kind, headless "
        "1920x1080, content rotating every second"
    )
    for kind in ("json", "cap"):
        for name, samples in (("alert.started", started_ms[kind]), ("first frame", frame_ms[kind])):
            print(
                f"  {kind:4s} {name:13s} p50 {percentile(samples, 50):6.1f} ms   "
                f"p99 {percentile(samples, 99):6.1f} ms   max {max(samples):6.1f} ms"
            )
    print("  (target p99 ≤ 100 ms)")
    # The first CAP payload loads the CAP parser (agent/alert_desk.py imports it lazily).
    first = ", ".join(f"{kind} {frame_ms[kind][0]:.1f} ms" for kind in ("json", "cap"))
    print(f"  first frame of the first sample: {first}")
    document = many_areas(50)
    parse_ms, _target_us = parse_costs(document, 100)
    print(
        f"parsing a CAP document of 50 areas ({len(document)} bytes), 100 runs: median "
        f"{statistics.median(parse_ms):.2f} ms, p90 {percentile(parse_ms, 90):.2f} ms"
    )


if __name__ == "__main__":
    main()
