"""`python -m firmware_bridge.simulator`: a simulated controller for a technician.

Prints the pty path on the first line of stdout, then a status line (at most once a
second) and every problem on stderr until interrupted; with `--png` it keeps a PNG of
what the panel shows.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import signal
import sys
import threading
import time
import zlib
from pathlib import Path
from types import FrameType
from typing import TextIO

# The pty path must be the first line of stdout: pygame's banner must not come first.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from firmware_bridge.frame import PanelFrame
from firmware_bridge.simulator.controller import AnySimulator, FrameListener, simulator

PNG_EVERY_S = 0.25  # at most four PNG writes a second while frames stream
STATUS_EVERY_S = 1.0  # frames may come by the hundred a second: one status line
LOOK_EVERY_S = 0.05


def _bits_per_byte(line: str) -> int:
    match = re.fullmatch(r"([78])([NEO])([12])", line.upper())
    if match is None:
        raise argparse.ArgumentTypeError(f"line format like 8N1 or 7E1, not {line!r}")
    data, parity, stop = match.groups()
    return 1 + int(data) + (parity != "N") + int(stop)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m firmware_bridge.simulator")
    parser.add_argument("--protocol", choices=("tpm2", "alpha"), required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--baud", type=int, default=None, help="115200 (tpm2), 9600 (alpha)")
    parser.add_argument("--line", type=_bits_per_byte, default=10, help="8N1 (default), 7E1…")
    parser.add_argument("--color", choices=("mono", "tricolor"), default="tricolor")
    parser.add_argument("--no-ack", action="store_true", help="tpm2: do not answer AC")
    parser.add_argument("--link", type=Path, help="also reachable at this stable path")
    parser.add_argument("--png", type=Path, help="write what the panel shows here")
    parser.add_argument("--scale", type=int, default=1, help="PNG pixels per LED")
    parser.add_argument(
        "--frame-log",
        type=Path,
        help="one line per frame: monotonic time and CRC-32 of its pixels (for benchmarks)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not (1 <= args.width <= 1024 and 1 <= args.height <= 512):
        print("width 1-1024 and height 1-512, please", file=sys.stderr)
        return 2
    frame_log = args.frame_log.open("w", buffering=1) if args.frame_log else None
    sim = simulator(
        args.protocol,
        (args.width, args.height),
        baud=args.baud or (9600 if args.protocol == "alpha" else 115200),
        bits_per_byte=args.line,
        color=args.color,
        ack=not args.no_ack,
        link=args.link,
        on_frame=_frame_logger(frame_log) if frame_log else None,
    )
    print(sim.start(), flush=True)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        _watch(sim, stop, args.png, args.scale)
    finally:
        if args.png is not None:
            sim.save_png(args.png, args.scale)
        sim.stop()
        if frame_log is not None:
            frame_log.close()
    return 0


def _frame_logger(log: TextIO) -> FrameListener:
    def write(at: float, shown: PanelFrame) -> None:
        log.write(f"{at:.6f} {zlib.crc32(shown.pixels):08x}\n")

    return write


def _moved_on(frames: int, sim: AnySimulator) -> bool:
    return sim.stats.frames != frames


def _watch(sim: AnySimulator, stop: threading.Event, png: Path | None, scale: int) -> None:
    seen, problems, reported, status_at, drawn, png_at = 0, 0, 0, 0.0, 0, 0.0
    while not stop.is_set():
        sim.wait_until(functools.partial(_moved_on, seen), timeout=STATUS_EVERY_S)
        stats = sim.stats
        seen = stats.frames
        fresh = min(stats.problems_total - problems, len(stats.problems))
        for problem in list(stats.problems)[len(stats.problems) - fresh :]:
            print(f"problem: {problem}", file=sys.stderr, flush=True)
        problems = stats.problems_total
        now = time.monotonic()
        if seen != reported and now - status_at >= STATUS_EVERY_S:
            print(
                f"{seen} frames, {stats.packets} packets, {stats.rejected} rejected, "
                f"{stats.checksum_errors} bad checksums, {sim.bytes_received} bytes",
                file=sys.stderr,
                flush=True,
            )
            reported, status_at = seen, now
        if png is not None and seen != drawn and now - png_at >= PNG_EVERY_S:
            sim.save_png(png, scale)
            drawn, png_at = seen, now
        stop.wait(LOOK_EVERY_S)  # however fast frames come, look at most this often


if __name__ == "__main__":
    sys.exit(main())
