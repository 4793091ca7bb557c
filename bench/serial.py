"""Serial LED output: frames per second delivered to a simulated controller against the
line-rate ceiling, the age of the frame on the panel, and CPU per frame.

The simulator (`python -m firmware_bridge.simulator`, its own process, as a technician
runs it) takes bytes off a pty at baud / 10 bytes a second (8N1) and logs each frame's
arrival (monotonic clock, CRC-32 of its pixels). The producer presents frames twice as
fast as the line carries them, each one different (a sequence number in its first 16
pixels), so every arrival is matched to the moment its frame was presented.

Targets: delivered ≥ 95 % of the ceiling; age at arrival ≤ one frame time (of the
producer) plus the frame's transmission time.
Usage: python bench/serial.py [--seconds 6]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import zlib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# This file is named serial.py: with its folder first on the path, `import serial` would
# import this script instead of pyserial.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(REPO))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pygame  # noqa: E402

from bench._harness import machine, percentile  # noqa: E402
from firmware_bridge.convert import FrameConverter  # noqa: E402
from firmware_bridge.output import SerialOutput  # noqa: E402
from firmware_bridge.protocols import create_protocol, serial_settings  # noqa: E402
from firmware_bridge.protocols.common import AckPolicy, ColorModel  # noqa: E402

SEQ_BITS = 16
TPM2_OVERHEAD = 5  # start, type, size (2), end
WARM_UP_FRAMES = 3


@dataclass(frozen=True)
class Case:
    size: tuple[int, int]
    color: ColorModel
    baud: int
    ack: AckPolicy = "off"

    @property
    def payload(self) -> int:
        width, height = self.size
        return (width + 7) // 8 * height if self.color == "mono" else width * height * 3

    @property
    def transmission_s(self) -> float:
        return (self.payload + TPM2_OVERHEAD) * 10 / self.baud

    def label(self) -> str:
        ack = ", AC honoured" if self.ack != "off" else ""
        return f"{self.size[0]}x{self.size[1]} {self.color} @ {self.baud}{ack}"


def draw_seq(canvas: pygame.Surface, seq: int) -> None:
    """A frame that differs from every other by its sequence number (16 pixels)."""
    canvas.fill((12, 22, 36))
    pygame.draw.rect(canvas, (255, 184, 28), (2, 4, canvas.get_width() - 4, 8))
    for i in range(SEQ_BITS):
        canvas.set_at((i, 0), (255, 255, 255) if seq >> i & 1 else (0, 0, 0))


def start_simulator(case: Case, directory: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    """The simulator in its own process: it shares neither the agent's interpreter lock
    nor its CPU count."""
    link, log = directory / "panel", directory / "frames.log"
    command = [
        sys.executable, "-m", "firmware_bridge.simulator", "--protocol", "tpm2",
        "--width", str(case.size[0]), "--height", str(case.size[1]), "--baud", str(case.baud),
        "--link", str(link), "--frame-log", str(log),
    ]  # fmt: skip
    if case.ack == "off":
        command.append("--no-ack")
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    process.stdout.readline()  # the pty path: the link is in place
    process.stdout.close()
    return process, link, log


def thread_cpu(name: str) -> float:
    thread = next(t for t in threading.enumerate() if t.name == name)
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def run_case(case: Case, seconds: float, directory: Path) -> dict[str, float]:
    process, link, log = start_simulator(case, directory)
    settings = serial_settings(
        port=str(link),
        protocol="tpm2",
        panel_width=case.size[0],
        panel_height=case.size[1],
        baudrate=case.baud,
        color=case.color,
        ack=case.ack,
    )
    up = threading.Event()
    output = SerialOutput(settings, lambda message: up.set())
    output.start()
    up.wait(5)
    mirror = FrameConverter(case.color)  # what the panel will decode: recognises frames
    presented: dict[int, float] = {}
    period = case.transmission_s / 2  # the renderer is twice as fast as the line
    present_cpu, writer_cpu = 0.0, thread_cpu("serial-writer")
    started, seq = time.monotonic(), 0
    while time.monotonic() - started < seconds:
        seq += 1
        draw_seq(output.canvas, seq)
        crc = zlib.crc32(mirror.convert(output.canvas).pixels)
        cpu = time.thread_time()
        presented[crc] = time.monotonic()
        output.present()
        present_cpu += time.thread_time() - cpu
        time.sleep(max(0.0, started + seq * period - time.monotonic()))
    writer_cpu = thread_cpu("serial-writer") - writer_cpu
    frames_sent = output.stats.frames_sent
    output.close()
    process.send_signal(signal.SIGINT)
    process.wait(10)
    arrivals = [line.split() for line in log.read_text().splitlines()]
    received = [(float(at), presented[int(crc, 16)]) for at, crc in arrivals[WARM_UP_FRAMES:]]
    cpu_per_frame = present_cpu / seq + writer_cpu / max(1, frames_sent)
    return summarise(case, received, period, cpu_per_frame)


def summarise(
    case: Case, received: list[tuple[float, float]], period: float, cpu: float
) -> dict[str, float]:
    span = received[-1][0] - received[0][0]
    fps = (len(received) - 1) / span
    ceiling = case.baud / 10 / (case.payload + TPM2_OVERHEAD)
    ages = [(at - presented) * 1000 for at, presented in received]
    return {
        "fps": fps,
        "ceiling": ceiling,
        "share": 100 * fps / ceiling,
        "age_p50": percentile(ages, 50),
        "age_p95": percentile(ages, 95),
        "age_max": max(ages),
        "age_target": (period + case.transmission_s) * 1000,
        "cpu_ms_per_frame": 1000 * cpu,
    }


def conversion_cost(size: tuple[int, int], color: ColorModel, protocol: str) -> float:
    """Seconds to convert and encode one frame (median of 5 runs of 200)."""
    canvas = pygame.Surface(size)
    draw_seq(canvas, 12345)
    settings = serial_settings(
        port="loop://", protocol=protocol, panel_width=size[0], panel_height=size[1], color=color
    )
    plugin = create_protocol(settings)
    converter = FrameConverter(plugin.color)
    runs = timeit.repeat(lambda: plugin.encode(converter.convert(canvas)), number=200, repeat=5)
    return sorted(runs)[2] / 200


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    cases = [
        Case((128, 32), "mono", 115200),
        Case((128, 32), "mono", 921600),
        Case((64, 32), "rgb", 115200),
        Case((64, 32), "rgb", 921600),
        Case((128, 32), "mono", 921600, ack="auto"),
        Case((64, 32), "rgb", 921600, ack="auto"),
    ]
    print(f"machine: {machine()}")
    print("TPM2 to a simulated controller on a pty; producer at 2x the line ceiling; 8N1")
    print(
        "case | delivered fps | ceiling | share | age p50 / p95 / max | age target | "
        "CPU per frame (convert + encode + write)"
    )
    with tempfile.TemporaryDirectory(prefix="signage-serial-") as tmp:
        for case in cases:
            r = run_case(case, args.seconds, Path(tmp))
            print(
                f"{case.label()} | {r['fps']:.1f} | {r['ceiling']:.1f} | {r['share']:.1f} % | "
                f"{r['age_p50']:.1f} / {r['age_p95']:.1f} / {r['age_max']:.1f} ms | "
                f"≤ {r['age_target']:.1f} ms | {r['cpu_ms_per_frame']:.2f} ms"
            )
    print("conversion + encoding alone, per frame (median):")
    conversions: tuple[tuple[tuple[int, int], ColorModel, str], ...] = (
        ((128, 32), "mono", "tpm2"),
        ((64, 32), "rgb", "tpm2"),
        ((192, 64), "rgb", "tpm2"),
        ((128, 32), "tricolor", "alpha"),
        ((192, 64), "mono", "alpha"),
    )
    for size, color, protocol in conversions:
        cost = conversion_cost(size, color, protocol)
        print(f"  {protocol} {size[0]}x{size[1]} {color}: {cost * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
