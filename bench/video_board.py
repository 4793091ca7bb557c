"""The whole board playing a clip: alert takeover latency, CPU, frames dropped, RSS.

`signage-agent run` (headless 1920x1080, a real Mosquitto, the clip from a local HTTP
server) is first given a text playlist, then a playlist of one 1080p30 H.264 clip (10 s,
testsrc2 made by bench/video.py, looped for its `duration_s`). Reported:

1. RSS with text only, then the peak RSS (VmHWM) while the clip plays: what loading
   PyAV, FFmpeg's libraries and one decoder costs a board; CPU of the agent's process
   while playing (all threads: FFmpeg decodes on several), and the heartbeat's
   `display.frames_dropped` and `display.video_decoder`.
2. `--samples` severe alerts published during the clip: publish → the alert's
   `playback.started` (sent after its first frame is presented), p50 / p99 / max; each
   is cancelled and the clip's own `playback.started` awaited before the next.

Headless: presenting to a screen is not included. Usage:
python bench/video_board.py [--samples 30] [--seconds 20]
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

# Run as `python bench/video_board.py`: the checkout goes on the path for `bench` and `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import board, machine, percentile
from bench.alert_latency import alert
from tests.http_server import image_server
from tests.support import (
    COMMUNE_TOPIC,
    ROOT,
    Observer,
    board_topic,
    event_matcher,
    playlist,
    text_item,
)

EVENTS = board_topic("events")


def vm_kib(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith(field)).split()[1])


def alert_latencies(observer: Observer, samples: int) -> list[float]:
    """Publish → the alert's first frame, ms, for severe alerts taking over the clip."""
    latencies = []
    for n in range(samples):
        alert_id = f"bao-video-{n}"
        topic = f"{ROOT}/alert/city/{alert_id}"
        mark = observer.mark()
        sent = time.monotonic()
        observer.publish(topic, alert(alert_id))
        shown = observer.wait_for(
            event_matcher(EVENTS, "playback.started", item_id=alert_id), start=mark
        )
        latencies.append((shown.at - sent) * 1000)
        mark = observer.mark()
        observer.publish(topic, alert(alert_id, "cancel"))
        observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="phim"), start=mark)
        time.sleep(0.5)  # the clip plays again before the next alert
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20, help="of the clip measured")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="signage-bench-vboard-") as tmp:
        clips = Path(tmp)
        generator = Path(__file__).with_name("video.py")
        command = [sys.executable, str(generator), "--generate", str(clips), "--seconds", "10"]
        subprocess.run(command, check=True)
        data = (clips / "1080p30.mp4").read_bytes()
        with image_server() as server, board((1920, 1080), heartbeat_s=5) as (observer, agent):
            server.files["/clip.mp4"] = data
            ref = {"url": server.url("/clip.mp4"), "sha256": hashlib.sha256(data).hexdigest()}
            assert agent.process is not None
            pid = agent.process.pid
            process = psutil.Process(pid)
            observer.publish(COMMUNE_TOPIC, playlist(1, [text_item("chu", "Thông báo")]))
            observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="chu"))
            time.sleep(3)
            text_rss = vm_kib(pid, "VmRSS") / 1024
            text_hwm = vm_kib(pid, "VmHWM") / 1024
            mark = observer.mark()
            clip = {"id": "phim", "layout": "video", "fields": {"video": ref}, "duration_s": 3600}
            observer.publish(COMMUNE_TOPIC, playlist(2, [clip]))
            observer.wait_for(
                event_matcher(EVENTS, "playback.started", item_id="phim"), start=mark, timeout=60
            )
            cpu_before, wall_before = process.cpu_times(), time.monotonic()
            time.sleep(args.seconds)
            cpu_after, wall = process.cpu_times(), time.monotonic() - wall_before
            cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
            beat = observer.wait_for(
                lambda m: m.topic == board_topic("heartbeat"), start=observer.mark(), timeout=10
            ).json()["display"]
            playing_hwm = vm_kib(pid, "VmHWM") / 1024
            latencies = alert_latencies(observer, args.samples)
            ended = observer.find(event_matcher(EVENTS, "playback.ended", item_id="phim"))
    print(f"machine: {machine()}")
    print("signage-agent run, headless 1920x1080, a 1080p30 H.264 clip (10 s, looped)")
    print(f"  RSS showing text: {text_rss:.1f} MB (peak {text_hwm:.1f} MB)")
    print(f"  peak RSS (VmHWM) once the clip played: {playing_hwm:.1f} MB")
    print(
        f"  CPU while playing, {wall:.0f} s: {100 * cpu / wall:.0f} % of one core; "
        f"frames dropped {beat['frames_dropped']}, decoder {beat['video_decoder']}"
    )
    print(
        f"  severe alert publish → its first frame, {len(latencies)} samples during the clip: "
        f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
        f"max {max(latencies):.1f} ms   (target p99 ≤ 100 ms)"
    )
    print(f"  playback.ended of the clip: {len(ended)} (one per alert taking over)")


if __name__ == "__main__":
    main()
