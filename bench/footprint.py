"""Peak RSS of `signage-agent run` rotating a 20-item playlist at 1920×1080 headless.

Target (issue 18) ≤ 60 MB with no optional section; with --optional (a `[trust]` key and
an `[alerts]` CAP feed, which polls an https address where nothing listens: the poller,
its HTTP client and PyNaCl loaded, no CAP document parsed) ≤ 64 MB. Targets are
for 1920×1080; `--size 3840x2160` measures a 4K board, whose frame alone is 32 MB.
Usage: python bench/footprint.py [--seconds 120] [--optional] [--size WxH]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psutil

# Run as `python bench/footprint.py`: the checkout goes on the path for `bench` and `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import board, machine
from tests.support import COMMUNE_TOPIC, board_topic, event_matcher, playlist, text_item

NOTICES = [
    "Lịch tiêm chủng tuần này: trạm y tế phường tiêm vắc-xin sởi cho trẻ từ 9 tháng tuổi.",
    "Mất điện khu vực tổ dân phố 5 từ 8 giờ đến 11 giờ để bảo dưỡng lưới điện.",
    "Cảnh báo ngập lụt: tránh các tuyến đường trũng thấp khi mưa lớn.",
    "Nước sinh hoạt được cấp lại từ 17 giờ. Đường Nguyễn Trãi thông xe.",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--size", default="1920x1080", help="WxH of the board")
    parser.add_argument("--optional", action="store_true", help="with [trust] and a CAP feed")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.lower().split("x"))
    extra, before = "", None
    if args.optional:
        from tests.trust_signer import SigningKey  # the bench's own key, written per run

        extra = (
            '[alerts]\nfeeds = ["https://127.0.0.1:9/cap.atom"]\n'
            '[trust]\n[[trust.keys]]\nkid = "alerts-2026"\n'
            'public_key = "{dir}/alerts-2026.pub.jwk"\nmay_sign = ["alert"]\n'
        )
        before = SigningKey("alerts-2026").write_jwk
    items = [
        text_item(f"muc-{n}", f"{NOTICES[n % len(NOTICES)]} (mục {n + 1}/20)", duration_s=1)
        | ({"fields": {"title": "Thông báo", "text": NOTICES[n % len(NOTICES)]}} if n % 2 else {})
        for n in range(20)
    ]
    with board((width, height), extra=extra, before=before) as (observer, agent):
        assert agent.process is not None
        process = psutil.Process(agent.process.pid)
        observer.publish(COMMUNE_TOPIC, playlist(1, items))
        observer.wait_for(event_matcher(board_topic("events"), "content.accepted"))
        started = time.monotonic()
        cpu_before = process.cpu_times()
        peak = 0
        while time.monotonic() - started < args.seconds:
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.25)
        cpu_after = process.cpu_times()
        status = Path(f"/proc/{process.pid}/status").read_text()
        hwm_kb = int(
            next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]
        )
        plays = len(observer.find(event_matcher(board_topic("events"), "playback.started")))
    cpu_s = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    print(f"machine: {machine()}")
    print(
        f"20-item playlist, 1 s per item, {width}x{height} headless, {args.seconds:.0f} s, "
        f"{plays} plays"
    )
    goal = "64 MB: [trust] and a CAP feed" if args.optional else "60 MB: no optional section"
    target = f"   (target ≤ {goal})" if (width, height) == (1920, 1080) else ""
    print(f"  peak RSS (VmHWM): {hwm_kb / 1024:.1f} MB{target}")
    print(f"  largest sampled RSS: {peak / 2**20:.1f} MB")
    share = 100 * cpu_s / args.seconds
    print(f"  CPU: {cpu_s:.2f} s over {args.seconds:.0f} s = {share:.1f} % of one core")


if __name__ == "__main__":
    main()
