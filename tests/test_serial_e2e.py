"""Acceptance: a playlist with Vietnamese text, rendered by the real renderer, reaches a
simulated Alpha sign through a pty as valid packets (checksums verified by the sign) and
shows correctly in the simulator's PNG; the same playlist streams to a TPM2 64×32 RGB
panel as frames of the right size; tiny panels scroll or cut, with a report."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import functools
import json
import queue
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pygame
import pytest

from agent.messages import Playlist, PlaylistItem
from display_layouts.render import Renderer, Scene
from firmware_bridge.convert import FrameConverter
from firmware_bridge.frame import PanelFrame, to_surface
from firmware_bridge.output import SerialLinkChanged, SerialOutput
from firmware_bridge.protocols import serial_settings
from firmware_bridge.protocols.base import SignText
from firmware_bridge.protocols.common import ColorModel
from firmware_bridge.simulator.controller import AnySimulator, SimulatedProtocol, simulator

WAIT_S = 20
HANOI = timezone(timedelta(hours=7))
NOW = datetime(2026, 11, 27, 14, 5, tzinfo=HANOI)
BOARD = "Phường Phúc Xá"
VIETNAMESE = "Cúp nước khu phố 3 từ 8h đến 12h"
ASCII = "ROAD CLOSED"

PLAYLIST = {
    "type": "playlist",
    "version": 3,
    "issued_at": "2026-11-27T07:30:00+07:00",
    "items": [
        {"id": "cup-nuoc", "layout": "led_text", "fields": {"text": VIETNAMESE}},
        {"id": "road", "layout": "led_text", "fields": {"text": ASCII}},
    ],
}


def playlist_items() -> list[PlaylistItem]:
    return list(Playlist.model_validate_json(json.dumps(PLAYLIST)).items)


Connect = Callable[..., SerialOutput]


@pytest.fixture
def connect() -> Iterator[Connect]:
    """The output driving a started simulator, once the link is up."""
    parts: list[tuple[AnySimulator, SerialOutput]] = []

    def make(sim: AnySimulator, protocol: str, color: ColorModel, **options: Any) -> SerialOutput:
        width, height = sim.shown().size
        links: queue.Queue[object] = queue.Queue()
        settings = serial_settings(
            port=sim.start(),
            protocol=protocol,
            panel_width=width,
            panel_height=height,
            color=color,
            **options,
        )
        output = SerialOutput(settings, links.put, now=lambda: NOW)
        output.start()
        parts.append((sim, output))
        message = links.get(timeout=WAIT_S)
        assert isinstance(message, SerialLinkChanged), message
        assert message.up, message
        return output

    yield make
    for sim, output in parts:
        output.close()
        sim.stop()


def text_of(item: PlaylistItem) -> str:
    text = item.fields["text"]
    assert isinstance(text, str)
    return text


def render(output: SerialOutput, item: PlaylistItem) -> PanelFrame:
    """The item drawn as the core draws it; returns what the panel should show."""
    Renderer(output.size).draw(output.canvas, Scene(item.layout, item.fields, BOARD, NOW))
    return FrameConverter(output.protocol.color).convert(output.canvas)


def shows(frame: PanelFrame, sim: AnySimulator) -> bool:
    return sim.shown() == frame


def png_pixels(path: Path) -> bytes:
    return pygame.image.tobytes(pygame.image.load(str(path)), "RGB")


def test_a_vietnamese_playlist_reaches_an_alpha_sign(connect: Connect, tmp_path: Path) -> None:
    sim = simulator("alpha", (128, 32), baud=115200, link=tmp_path / "ttyAlpha")
    output = connect(sim, "alpha", "tricolor")
    vietnamese, ascii_item = playlist_items()

    expected = render(output, vietnamese)
    assert output.present_text(text_of(vietnamese)) is False  # no diacritics in its font
    assert sim.wait_until(lambda s: s.shown() == expected, WAIT_S)
    png = tmp_path / "sign.png"
    sim.save_png(png)
    assert png_pixels(png) == pygame.image.tobytes(to_surface(expected), "RGB")
    assert expected.pixels.count(0) < len(expected.pixels)  # something is lit

    render(output, ascii_item)
    assert output.present_text(text_of(ascii_item)) is True  # the sign's own font
    assert sim.wait_until(lambda s: s.model.texts["A"].body.endswith(ASCII.encode()), WAIT_S)
    assert sim.shown() != expected

    stats = sim.stats
    assert (stats.checksum_errors, stats.unchecked, stats.rejected) == (0, 0, 0)
    assert list(stats.problems) == []
    assert sim.model.memory.keys() == {"A", "B"}  # configured on connect
    assert sim.model.clock == {"time": "1405", "date": "112726", "weekday": "6"}


def test_the_same_playlist_streams_to_a_tpm2_rgb_panel(connect: Connect, tmp_path: Path) -> None:
    sim = simulator("tpm2", (64, 32), baud=115200, link=tmp_path / "ttyTpm2")
    output = connect(sim, "tpm2", "rgb")
    for item in playlist_items():
        expected = render(output, item)
        assert output.present_text(text_of(item)) is False  # TPM2 has no fonts
        assert sim.wait_until(functools.partial(shows, expected), WAIT_S)
        assert sim.model.last_payload_size == 64 * 32 * 3
    assert sim.stats.rejected == 0


@pytest.mark.parametrize("protocol", ["tpm2", "alpha"])
def test_a_tiny_panel_shows_what_fits_and_never_crashes(
    connect: Connect, tmp_path: Path, protocol: SimulatedProtocol
) -> None:
    sim = simulator(protocol, (8, 7), baud=115200, color="mono", link=tmp_path / "ttyTiny")
    output = connect(sim, protocol, "mono")
    item = playlist_items()[0]
    expected = render(output, item)
    output.present_text(text_of(item))
    assert sim.wait_until(lambda s: s.shown() == expected, WAIT_S)


def test_held_sign_text_too_wide_for_the_panel_is_cut_with_a_report(
    connect: Connect, tmp_path: Path
) -> None:
    sim = simulator("alpha", (32, 8), baud=115200, color="mono", link=tmp_path / "ttyHold")
    output = connect(sim, "alpha", "mono", alpha_mode="hold")
    assert output.present_text("THIS NOTICE IS FAR TOO WIDE")
    assert sim.wait_until(lambda s: "A" in s.model.texts, WAIT_S)
    sim.shown()
    assert any("cut" in problem for problem in sim.stats.problems)


def test_the_sign_scrolls_its_own_text_and_animation_steps_leave_it_alone(
    connect: Connect, tmp_path: Path
) -> None:
    sim = simulator("alpha", (64, 16), baud=115200, link=tmp_path / "ttyScroll")
    output = connect(sim, "alpha", "tricolor")
    long_notice = "ROAD CLOSED FROM 8:00 TO 12:00 FOR REPAIRS"
    assert output.present_text(long_notice)
    output.present([pygame.Rect(0, 0, 64, 16)])  # the renderer's next scroll step
    assert output.showing == SignText(long_notice)
    assert sim.wait_until(lambda s: "A" in s.model.texts, WAIT_S)
    assert sim.model.texts["A"].mode == "rotate"  # too long to hold: the sign moves it
    output.present()  # a whole new frame does replace it
    assert isinstance(output.showing, PanelFrame)
