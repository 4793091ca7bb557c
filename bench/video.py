"""Video decoding (issue 17, groundwork): CPU, frames dropped and RSS for software decoding.

1. Makes two 10 s H.264 clips (FFmpeg's testsrc2 pattern, which moves, encoded by
   libx264 `veryfast`, CRF 23, the way a content manager's export would be) at 720p30
   and 1080p30, in a child process so the encoder's memory is not counted.
2. Decodes and scales every frame of each, as fast as it can, to 1280x720 and to
   1920x1080: CPU time per frame (all the decoder's threads), so "% of one core at
   30 fps" = that time x 30. Shared machines: this number does not depend on the load.
3. Plays each with `ClipPlayer` in real time at the same sizes: a loop that asks for
   the frame due now, then sleeps until the next frame slot (a display's vsync would do
   that wait). Reports CPU (% of one core; frame threads can make it exceed 100), frames
   shown and dropped, and peak RSS sampled every frame, against the RSS of the same
   process before PyAV was imported. Drops depend on the load: the load average is
   printed.
4. Opens and closes a small clip `--changes` times (1 000): RSS and glibc's in-use heap
   (mallinfo2) after 10, 100 and all of them.

Headless (SDL's dummy driver): presenting to a screen is not included.

Usage: python bench/video.py [--seconds 10] [--changes 1000]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import psutil  # noqa: E402
import pygame  # noqa: E402

from bench._harness import machine  # noqa: E402

CLIPS = {"720p30": (1280, 720), "1080p30": (1920, 1080)}
TARGETS = ((1280, 720), (1920, 1080))
RATE = 30
MALLINFO2_FIELDS = (
    *("arena", "ordblks", "smblks", "hblks", "hblkhd"),
    *("usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"),
)


def generate(directory: Path, seconds: int) -> None:
    """The clips, made in this (child) process: testsrc2 -> libx264."""
    import av
    import av.filter
    import av.video.stream

    for name, (width, height) in CLIPS.items():
        graph = av.filter.Graph()
        source = graph.add("testsrc2", f"size={width}x{height}:rate={RATE}:duration={seconds}")
        convert = graph.add("format", "yuv420p")
        sink = graph.add("buffersink")
        source.link_to(convert)
        convert.link_to(sink)
        graph.configure()
        with av.open(str(directory / f"{name}.mp4"), "w") as out:
            stream = out.add_stream(
                "libx264", rate=RATE, options={"preset": "veryfast", "crf": "23", "g": "60"}
            )
            assert isinstance(stream, av.video.stream.VideoStream)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            while True:
                try:
                    frame = sink.pull()
                except (av.error.EOFError, av.error.BlockingIOError):
                    break
                assert isinstance(frame, av.VideoFrame)
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))


def rss_mib(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


def play(path: Path, target: tuple[int, int], process: psutil.Process) -> dict[str, float]:
    """One clip, once, in real time: what it cost."""
    from agent.video.player import ClipPlayer

    peak = rss_mib(process)
    cpu_before = process.cpu_times()
    wall_before = time.monotonic()
    with ClipPlayer(path, target) as player:
        player.start()
        while True:
            elapsed = player.elapsed()
            if player.frame_at(elapsed) is None:
                break
            peak = max(peak, rss_mib(process))
            next_slot = (int(elapsed * RATE) + 1) / RATE
            time.sleep(max(0.0, next_slot - player.elapsed()))
        shown, dropped = player.frames_shown, player.frames_dropped
        decoder = player.choice.name
        problem = player.problem
    wall = time.monotonic() - wall_before
    cpu_after = process.cpu_times()
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    if problem is not None:
        raise SystemExit(f"{path.name}: {problem}")
    print(f"  ({path.name} -> {target[0]}x{target[1]}: decoder {decoder})", flush=True)
    return {"cpu": 100 * cpu / wall, "shown": shown, "dropped": dropped, "peak": peak}


def decode_cost(path: Path, target: tuple[int, int], process: psutil.Process) -> float:
    """CPU milliseconds to decode and scale one frame, over the whole clip, unpaced."""
    from agent.video.decoder import FrameDecoder

    decoder = FrameDecoder(path, target)
    before = process.cpu_times()
    frames = 0
    while (frame := decoder.next_frame()) is not None:
        decoder.scale(frame)
        frames += 1
    after = process.cpu_times()
    decoder.close()
    cpu = (after.user - before.user) + (after.system - before.system)
    return 1000 * cpu / max(1, frames)


def heap_in_use_mib() -> float | None:
    """glibc's own count of allocated bytes: flat when nothing leaks, whatever RSS does."""

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in MALLINFO2_FIELDS]

    mallinfo2 = getattr(ctypes.CDLL(None), "mallinfo2", None)
    if mallinfo2 is None:
        return None
    mallinfo2.restype = MallInfo2
    info = mallinfo2()
    return float(info.uordblks + info.hblkhd) / 2**20


def changes(
    directory: Path, count: int, process: psutil.Process
) -> list[tuple[int, float, float | None]]:
    from agent.video.player import ClipPlayer
    from tests import video_clips

    clip = video_clips.h264_clip(directory / "small.mp4")
    marks = []
    for index in range(1, count + 1):
        with ClipPlayer(clip, (320, 180)) as player:
            player.frame_at(0.5)
        if index in (10, 100, count):
            gc.collect()
            marks.append((index, rss_mib(process), heap_in_use_mib()))
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.generate, args.seconds)
        return
    process = psutil.Process()
    pygame.display.init()
    baseline = rss_mib(process)
    print(f"Machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="signage-bench-video-") as tmp:
        directory = Path(tmp)
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--generate",
                str(directory),
                "--seconds",
                str(args.seconds),
            ],
            check=True,
        )
        print(f"clips made in {time.monotonic() - started:.0f} s", flush=True)
        import av

        print(f"PyAV {av.__version__}, FFmpeg {av.ffmpeg_version_info}")
        rows = []
        for name in CLIPS:
            for target in TARGETS:
                cost = decode_cost(directory / f"{name}.mp4", target, process)
                result = play(directory / f"{name}.mp4", target, process)
                result["cost"] = cost
                rows.append((name, target, result))
        load = os.getloadavg()
        marks = changes(directory, args.changes, process)
    print(f"\nRSS before PyAV was imported: {baseline:.1f} MiB; load average {load[0]:.1f}\n")
    print(
        "| clip (H.264, software) | scaled to | CPU per frame | = % of a core at 30 fps "
        "| paced: CPU | shown | dropped | peak RSS |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, (width, height), result in rows:
        print(
            f"| {name} | {width}x{height} | {result['cost']:.1f} ms | {result['cost'] * 3:.0f} % "
            f"| {result['cpu']:.0f} % | {result['shown']:.0f} | {result['dropped']:.0f} "
            f"| {result['peak']:.1f} MiB |"
        )
    print("\nClip changes (160x90 H.264: open, one frame, close):")
    for index, rss, heap in marks:
        in_use = "?" if heap is None else f"{heap:.1f}"
        print(f"  after {index:>5}: RSS {rss:.1f} MiB, glibc heap in use {in_use} MiB")


if __name__ == "__main__":
    main()
