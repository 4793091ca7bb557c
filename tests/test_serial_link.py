"""SerialOutput over real ptys to the real simulator: frames, latest-frame-wins, link
supervision (unplug, replug, missing adapter, stuck line) and the heartbeat's view."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import dataclasses
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pygame
import pytest

from firmware_bridge.convert import FrameConverter
from firmware_bridge.frame import PanelFrame
from firmware_bridge.output import SerialLinkChanged, SerialOutput, SerialProblem
from firmware_bridge.protocols import serial_settings
from firmware_bridge.simulator.controller import ControllerSimulator, simulator
from firmware_bridge.simulator.tpm2_panel import Tpm2Panel

WAIT_S = 15  # generous: a loaded CI machine must not fail these


class Reports:
    """What the output reported to the core, as the core's queue would hold it."""

    def __init__(self) -> None:
        self.queue: queue.Queue[object] = queue.Queue()
        self.problems: list[SerialProblem] = []

    def __call__(self, message: object) -> None:
        self.queue.put(message)

    def link(self, up: bool) -> SerialLinkChanged:
        while True:
            message = self.queue.get(timeout=WAIT_S)
            if isinstance(message, SerialProblem):
                self.problems.append(message)
            elif isinstance(message, SerialLinkChanged) and message.up == up:
                return message


Plug = Callable[..., ControllerSimulator[Tpm2Panel]]
OpenOutput = Callable[..., tuple[SerialOutput, "Reports"]]


@pytest.fixture
def plug(tmp_path: Path) -> Iterator[Plug]:
    """A simulated TPM2 panel (not started) behind a stable link path."""
    started: list[ControllerSimulator[Tpm2Panel]] = []

    def make(
        size: tuple[int, int] = (64, 32), baud: int = 921600, ack: bool = True
    ) -> ControllerSimulator[Tpm2Panel]:
        link = tmp_path / f"ttyLED{len(started)}"
        sim = simulator("tpm2", size, baud=baud, ack=ack, link=link)
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def open_output() -> Iterator[OpenOutput]:
    """A SerialOutput on `port` (tpm2, rgb, 921600 unless told) and what it reports."""
    opened: list[SerialOutput] = []

    def make(
        port: str, size: tuple[int, int] = (64, 32), **options: Any
    ) -> tuple[SerialOutput, Reports]:
        defaults: dict[str, Any] = {"protocol": "tpm2", "color": "rgb", "baudrate": 921600}
        settings = serial_settings(
            port=port,
            panel_width=size[0],
            panel_height=size[1],
            reconnect_min_s=0.05,
            reconnect_max_s=0.2,
            **(defaults | options),
        )
        reports = Reports()
        output = SerialOutput(settings, reports)
        output.start()
        opened.append(output)
        return output, reports

    yield make
    for output in opened:
        output.close()


def paint(output: SerialOutput, n: int) -> PanelFrame:
    """Draw frame number `n` (each looks different) and return what the panel should show."""
    canvas = output.canvas
    canvas.fill((12, 22, 36))
    pygame.draw.rect(canvas, (255, 184, 28), (n % 40, 4, 20, 10))
    canvas.set_at((0, 0), (255, 255, 255) if n % 2 else (0, 0, 0))
    return FrameConverter(output.protocol.color).convert(canvas)


def showing(frame: PanelFrame) -> Callable[[ControllerSimulator[Tpm2Panel]], bool]:
    return lambda sim: sim.shown() == frame


def test_an_rgb_panel_receives_frames_of_its_size(plug: Plug, open_output: OpenOutput) -> None:
    sim = plug((64, 32), baud=921600)
    output, reports = open_output(sim.start())
    reports.link(up=True)
    expected = paint(output, 1)
    output.present()
    assert sim.wait_until(showing(expected), WAIT_S)
    assert sim.model.last_payload_size == 64 * 32 * 3
    assert sim.stats.rejected == 0


def test_frames_faster_than_the_line_only_the_newest_is_sent(
    plug: Plug, open_output: OpenOutput
) -> None:
    sim = plug((64, 32), baud=115200)  # half a second a frame
    output, reports = open_output(sim.start(), baudrate=115200)
    reports.link(up=True)
    for n in range(1, 51):
        last = paint(output, n)
        output.present()  # never blocks, however far behind the line is
    assert sim.wait_until(showing(last), WAIT_S)
    assert output.stats.frames_sent < 50
    assert output.stats.frames_superseded > 0
    assert sim.stats.frames == output.stats.frames_sent


def test_an_unchanged_frame_costs_no_line_time(plug: Plug, open_output: OpenOutput) -> None:
    sim = plug()
    output, reports = open_output(sim.start())
    reports.link(up=True)
    first = paint(output, 1)
    for _ in range(5):
        output.present()
    assert sim.wait_until(showing(first), WAIT_S)
    second = paint(output, 2)
    output.present()
    assert sim.wait_until(showing(second), WAIT_S)
    assert output.stats.frames_sent == 2


def test_unplug_and_replug_recover_with_link_events_and_a_full_resend(
    plug: Plug, open_output: OpenOutput
) -> None:
    sim = plug()
    output, reports = open_output(sim.start())
    reports.link(up=True)
    frame = paint(output, 7)
    output.present()
    assert sim.wait_until(showing(frame), WAIT_S)

    sim.unplug()
    down = reports.link(up=False)
    assert down.port == sim.port
    assert "unplugged" in down.message or "went away" in down.message
    health = output.health()
    assert not health.connected
    assert health.errors >= 1

    sim.replug(power_cycled=True)  # a fresh controller: it shows nothing until resent
    reports.link(up=True)
    assert sim.wait_until(showing(frame), WAIT_S)  # resent without a new present()
    assert output.health().connected


def test_starting_without_the_adapter_reports_down_then_up_when_plugged(
    plug: Plug, open_output: OpenOutput
) -> None:
    sim = plug()
    output, reports = open_output(sim.port)  # nothing at that path yet
    down = reports.link(up=False)
    assert "no such device" in down.message
    frame = paint(output, 3)
    output.present()  # kept for when the panel is there
    sim.start()
    reports.link(up=True)
    assert sim.wait_until(showing(frame), WAIT_S)


@pytest.fixture
def stuck_line() -> Iterator[str]:
    """A pty nobody reads: a controller that stopped taking bytes."""
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


def test_a_line_that_stops_draining_takes_the_link_down(
    stuck_line: str, open_output: OpenOutput
) -> None:
    output, reports = open_output(stuck_line, write_timeout_s=0.2)
    reports.link(up=True)
    down = None
    for n in range(1, 200):
        paint(output, n)
        output.present()
        try:
            message = reports.queue.get(timeout=0.5)
        except queue.Empty:
            continue
        if isinstance(message, SerialLinkChanged) and not message.up:
            down = message
            break
    assert down is not None
    assert "timed out" in down.message


def writers() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "serial-writer")


def test_close_stops_the_writer_even_mid_write(stuck_line: str, open_output: OpenOutput) -> None:
    output, reports = open_output(stuck_line, write_timeout_s=30)
    reports.link(up=True)
    for n in range(1, 6):  # enough to fill the pty: the writer blocks in write()
        paint(output, n)
        output.present()
    before = writers()
    output.close()  # waits at most about a second
    assert writers() == before - 1


def test_acknowledgements_that_never_come_are_counted_not_fatal(
    plug: Plug, open_output: OpenOutput
) -> None:
    sim = plug(ack=False)
    output, reports = open_output(sim.start(), ack="wait", ack_timeout_s=0.05)
    reports.link(up=True)
    for n in (1, 2):  # the second is sent only once the first gave up waiting
        frame = paint(output, n)
        output.present()
        assert sim.wait_until(showing(frame), WAIT_S)
    assert output.stats.ack_timeouts >= 1
    assert output.health().connected


def test_acknowledgements_are_honoured_when_the_controller_sends_them(
    plug: Plug, open_output: OpenOutput
) -> None:
    sim = plug(ack=True)
    output, reports = open_output(sim.start(), ack="wait", ack_timeout_s=5)
    reports.link(up=True)
    for n in range(1, 4):
        frame = paint(output, n)
        output.present()
        assert sim.wait_until(showing(frame), WAIT_S)
    assert output.stats.ack_timeouts == 0


def test_rgb_brightness_is_applied_to_the_pixels(plug: Plug, open_output: OpenOutput) -> None:
    sim = plug()
    output, reports = open_output(sim.start(), gamma=1.0)
    reports.link(up=True)
    output.canvas.fill((200, 200, 200))
    assert output.set_backlight(50)
    output.present()
    assert sim.wait_until(lambda s: s.shown().pixels[:3] == bytes([100, 100, 100]), WAIT_S)
    assert output.set_power(False) is False  # the core blanks the frame instead


def test_the_heartbeat_sees_port_protocol_link_and_counts(
    plug: Plug, open_output: OpenOutput
) -> None:
    sim = plug()
    output, reports = open_output(sim.start())
    reports.link(up=True)
    frame = paint(output, 1)
    output.present()
    assert sim.wait_until(showing(frame), WAIT_S)
    health = output.health()
    assert dataclasses.asdict(health) == {
        "port": sim.port,
        "protocol": "tpm2",
        "connected": True,
        "frames_sent": 1,
        "errors": 0,
    }
    assert output.kind == "serial"
    assert output.size == (64, 32)
    assert output.pump()


def test_settings_a_panel_cannot_honour_are_reported(plug: Plug, open_output: OpenOutput) -> None:
    sim = plug((256, 128))
    output, reports = open_output(sim.start(), size=(256, 128))
    reports.link(up=True)
    assert any("only the top 85 rows" in p.message for p in reports.problems)
    assert output.canvas.get_size() == (256, 128)
