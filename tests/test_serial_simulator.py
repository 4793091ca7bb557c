"""The controller simulator (as a program and as a part) and `probe_controller`."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pygame
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.convert import FrameConverter
from firmware_bridge.frame import PanelFrame, to_surface
from firmware_bridge.output import SerialLinkChanged, SerialOutput
from firmware_bridge.probe import probe_controller
from firmware_bridge.protocols import serial_settings, unchecked_settings
from firmware_bridge.protocols.alpha import commands
from firmware_bridge.protocols.alpha.packets import build_packet
from firmware_bridge.protocols.base import Packet
from firmware_bridge.protocols.tpm2 import frame_bytes
from firmware_bridge.simulator.alpha_sign import AlphaSign
from firmware_bridge.simulator.controller import AnySimulator, simulator
from firmware_bridge.simulator.tpm2_panel import Tpm2Panel

REPO = Path(__file__).resolve().parents[1]
WAIT_S = 20


def wire(packet: Packet) -> bytes:
    return b"".join(part for part in packet.parts if isinstance(part, bytes))


def alpha(*command: bytes) -> bytes:
    return wire(build_packet(command))


MEMORY = alpha(
    commands.memory_config(
        [commands.text_file(b"A", 256), commands.picture_file(b"B", (4, 2), tricolor=True)]
    )
)
PICTURE = wire(build_packet(commands.small_dots(b"B", [bytes([0, 1, 2, 3]), bytes([3, 3, 0, 0])])))
SHOW_PICTURE = alpha(commands.write_text(b"A", "fill", "hold", commands.call_picture(b"B")))


# --- the program a technician runs --------------------------------------------------------


class Program:
    """`python -m firmware_bridge.simulator …`, with its stderr read line by line."""

    def __init__(self, *args: str) -> None:
        command = [sys.executable, "-m", "firmware_bridge.simulator", *args]
        self.process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.port = self.process.stdout.readline().strip()
        self.lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(self.process.stderr,))
        self._reader.start()

    def _read(self, stream: TextIO) -> None:
        for line in stream:
            self.lines.put(line)

    def wait_for_line(self, needle: str) -> str:
        while needle not in (line := self.lines.get(timeout=WAIT_S)):
            pass
        return line

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.close()

    def close(self) -> int:
        status = self.process.wait(WAIT_S)
        self._reader.join(WAIT_S)  # stderr reached its end
        for stream in (self.process.stdout, self.process.stderr):
            assert stream is not None
            stream.close()
        return status


@pytest.fixture
def program() -> Iterator[list[Program]]:
    started: list[Program] = []
    yield started
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
        running.close()


def test_the_program_prints_the_pty_and_writes_what_the_sign_shows(
    program: list[Program], tmp_path: Path
) -> None:
    png = tmp_path / "sign.png"
    sim = Program("--protocol", "alpha", "--width", "64", "--height", "16", "--baud", "115200",
                  "--png", str(png))  # fmt: skip
    program.append(sim)
    assert sim.port.startswith("/dev/")
    assert Path(sim.port).exists()
    links: queue.Queue[object] = queue.Queue()
    settings = serial_settings(
        port=sim.port, protocol="alpha", panel_width=64, panel_height=16, color="tricolor"
    )
    output = SerialOutput(settings, links.put)
    output.start()
    try:
        assert isinstance(up := links.get(timeout=WAIT_S), SerialLinkChanged)
        assert up.up
        output.canvas.fill((0, 0, 0))
        pygame.draw.rect(output.canvas, (255, 184, 28), (4, 4, 20, 8))
        output.present()
        sim.wait_for_line("2 frames")  # the picture, then the TEXT file that calls it
    finally:
        output.close()
    assert sim.stop() == 0
    expected = to_surface(FrameConverter("tricolor").convert(output.canvas))
    shown = pygame.image.load(str(png))
    assert pygame.image.tobytes(shown, "RGB") == pygame.image.tobytes(expected, "RGB")


def test_the_program_refuses_a_bad_line_format(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "firmware_bridge.simulator", "--protocol", "tpm2",
         "--width", "8", "--height", "8", "--line", "9X1"],
        cwd=REPO, capture_output=True, text=True, timeout=WAIT_S, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "8N1" in result.stderr


# --- the sign models ------------------------------------------------------------------------


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=300), max_size=15))
def test_an_alpha_sign_survives_any_bytes(chunks: list[bytes]) -> None:
    sign = AlphaSign((16, 8))
    for n, chunk in enumerate(chunks):
        sign.receive(MEMORY[: n * 7] + chunk, now=n * 0.5)
    sign.shown()


@given(st.lists(st.binary(max_size=300), max_size=15))
def test_a_tpm2_panel_survives_any_bytes(chunks: list[bytes]) -> None:
    panel = Tpm2Panel((8, 4))
    for n, chunk in enumerate(chunks):
        panel.receive(chunk, now=n * 0.2)
    assert panel.shown().size == (8, 4)


@given(st.binary(max_size=200).map(lambda b: b.replace(b"\x01", b"")))
def test_an_alpha_sign_finds_its_packets_after_line_noise(noise: bytes) -> None:
    sign = AlphaSign((4, 2))
    sign.receive(noise + MEMORY + noise + PICTURE + noise + SHOW_PICTURE, now=0.0)
    assert sign.shown() == PanelFrame(4, 2, "tricolor", bytes([0, 1, 2, 3, 3, 3, 0, 0]))


def test_an_alpha_sign_refuses_a_picture_it_has_no_memory_for() -> None:
    sign = AlphaSign((4, 2))
    sign.receive(PICTURE + SHOW_PICTURE, now=0.0)
    assert any("not in the memory table" in p for p in sign.stats.problems)
    assert sign.shown().is_dark()


def test_an_alpha_sign_refuses_a_picture_of_another_size() -> None:
    sign = AlphaSign((4, 2))
    other = wire(build_packet(commands.small_dots(b"B", [bytes(3)] * 2)))
    sign.receive(MEMORY + other, now=0.0)
    assert any("memory holds 0204" in p for p in sign.stats.problems)


def test_an_alpha_sign_ignores_a_command_whose_checksum_is_wrong() -> None:
    sign = AlphaSign((4, 2))
    corrupted = bytearray(MEMORY + PICTURE)
    corrupted[corrupted.rindex(b"0123")] = ord("2")
    sign.receive(bytes(corrupted), now=0.0)
    assert sign.stats.checksum_errors == 1
    assert "B" not in sign.pictures


def test_a_tpm2_frame_of_the_wrong_size_is_shown_cut_with_a_report() -> None:
    panel = Tpm2Panel((4, 2))
    assert panel.receive(frame_bytes(bytes([255] * 30)), now=0.0) == b"\xac"
    assert panel.shown().pixels == bytes([255] * 24)
    assert "does not fit" in panel.stats.problems[0]


# --- probe_controller -----------------------------------------------------------------------


@pytest.fixture
def running(tmp_path: Path) -> Iterator[list[AnySimulator]]:
    started: list[AnySimulator] = []
    yield started
    for sim in started:
        sim.stop()


def test_probe_finds_an_alpha_sign(running: list[AnySimulator]) -> None:
    sim = simulator("alpha", (64, 16), baud=9600)
    running.append(sim)
    ok, what = probe_controller(sim.start(), "alpha", 9600, timeout=WAIT_S)
    assert ok
    assert "an Alpha sign answered" in what
    assert "9600 8N1" in what


def test_probe_finds_a_tpm2_controller_that_acknowledges(running: list[AnySimulator]) -> None:
    sim = simulator("tpm2", (64, 32))
    running.append(sim)
    ok, what = probe_controller(sim.start(), "tpm2", 115200, timeout=WAIT_S)
    assert ok
    assert "acknowledged a frame" in what


def test_probe_accepts_a_silent_tpm2_controller_saying_what_was_not_checked(
    running: list[AnySimulator],
) -> None:
    sim = simulator("tpm2", (64, 32), ack=False)
    running.append(sim)
    ok, what = probe_controller(sim.start(), "tpm2", 115200, timeout=0.2)
    assert ok
    assert "only the port itself was checked" in what


def test_probe_explains_a_silent_sign() -> None:
    master, slave = os.openpty()  # nobody at the other end answers
    try:
        ok, why = probe_controller(os.ttyname(slave), "alpha", 9600, timeout=0.2)
    finally:
        os.close(master)
        os.close(slave)
    assert not ok
    assert "no answer" in why
    assert "wiring" in why


def test_probe_explains_a_missing_adapter(tmp_path: Path) -> None:
    ok, why = probe_controller(str(tmp_path / "ttyUSB9"), "alpha", 9600, timeout=1)
    assert not ok
    assert "no such device" in why


def test_probe_refuses_an_unknown_protocol() -> None:
    ok, why = probe_controller("loop://", "vendorx", 9600, timeout=1)
    assert not ok
    assert "unknown serial protocol" in why


def test_the_simulator_notices_the_agent_at_another_baud_rate(
    running: list[AnySimulator],
) -> None:
    sim = simulator("tpm2", (8, 4), baud=115200)
    running.append(sim)
    links: queue.Queue[object] = queue.Queue()
    settings = unchecked_settings(port=sim.start(), protocol="tpm2", panel_width=8,
                                  panel_height=4, baudrate=9600)  # a tiny test panel  # fmt: skip
    output = SerialOutput(settings, links.put)
    output.start()
    try:
        output.present()
        assert sim.wait_until(lambda s: s.stats.frames >= 1, WAIT_S)
    finally:
        output.close()
    assert sim.baud_mismatch is not None
    assert any("another baud rate" in p for p in sim.stats.problems)
