"""Frame conversion for serial LED panels: mono, tricolor and rgb, and bit packing."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pygame
import pytest
from hypothesis import given
from hypothesis import strategies as st

from display_layouts import theme
from firmware_bridge.convert import FrameConverter
from firmware_bridge.frame import AMBER, OFF, RED, PanelFrame, pack_bits, to_surface, unpack_bits

BLACK = (0, 0, 0)
WHITE = (255, 255, 255)


def surface_of(colors: list[list[tuple[int, int, int]]]) -> pygame.Surface:
    surface = pygame.Surface((len(colors[0]), len(colors)))
    for y, row in enumerate(colors):
        for x, color in enumerate(row):
            surface.set_at((x, y), color)
    return surface


def test_mono_lights_the_theme_text_and_leaves_its_background_dark() -> None:
    canvas = surface_of([[theme.BACKGROUND, theme.ACCENT, theme.TEXT, theme.ALERT_BACKGROUND]])
    frame = FrameConverter("mono").convert(canvas)
    assert frame.pixels == bytes([0, 1, 1, 0])


def test_ordered_dither_keeps_text_solid_and_the_background_dark() -> None:
    canvas = pygame.Surface((8, 8))
    canvas.fill(theme.BACKGROUND)
    pygame.draw.rect(canvas, theme.ACCENT, (0, 0, 8, 4))
    frame = FrameConverter("mono", dither="ordered").convert(canvas)
    assert frame.pixels[:32] == bytes([1] * 32)
    assert frame.pixels[32:] == bytes(32)


def test_ordered_dither_renders_a_mid_grey_as_a_pattern() -> None:
    canvas = pygame.Surface((8, 8))
    canvas.fill((112, 112, 112))
    lit = sum(FrameConverter("mono", dither="ordered").convert(canvas).pixels)
    assert 8 < lit < 56


@given(st.integers(0, 255), st.integers(1, 40), st.integers(1, 12))
def test_ordered_dither_lights_more_dots_as_grey_rises(level: int, width: int, height: int) -> None:
    converter = FrameConverter("mono", dither="ordered")

    def lit(grey: int) -> int:
        canvas = pygame.Surface((width, height))
        canvas.fill((grey, grey, grey))
        return sum(converter.convert(canvas).pixels)

    assert lit(level) <= lit(min(255, level + 16))


def test_tricolor_maps_red_and_green_channels_to_the_sign_palette() -> None:
    canvas = surface_of([[BLACK, (200, 10, 10), (10, 200, 10), theme.ACCENT, WHITE]])
    assert FrameConverter("tricolor").convert(canvas).pixels == bytes([0, 1, 2, 3, 3])


def test_rgb_is_gamma_corrected_and_scaled_by_brightness() -> None:
    canvas = surface_of([[BLACK, (128, 128, 128), WHITE]])
    converter = FrameConverter("rgb", gamma=2.2)
    full = converter.convert(canvas).pixels
    assert full[0:3] == bytes(3)
    assert full[6:9] == bytes([255] * 3)
    assert 50 < full[3] < 60  # 0.5 ** 2.2 ≈ 0.22
    converter.set_brightness(50)
    assert converter.convert(canvas).pixels[6] == 128


def test_a_frame_is_drawn_back_in_panel_colours() -> None:
    frame = PanelFrame(3, 1, "tricolor", bytes([0, 1, 3]))
    image = to_surface(frame, mono_on=AMBER)
    assert [tuple(image.get_at((x, 0)))[:3] for x in range(3)] == [OFF, RED, AMBER]


def test_a_frame_refuses_pixels_that_do_not_fill_it() -> None:
    with pytest.raises(ValueError, match="pixel bytes"):
        PanelFrame(4, 4, "rgb", bytes(10))


def test_mono_packs_eight_pixels_a_byte_most_significant_first() -> None:
    frame = PanelFrame(16, 1, "mono", bytes([1, 0, 0, 0, 0, 0, 0, 1] + [0] * 7 + [1]))
    assert pack_bits(frame) == bytes([0x81, 0x01])
    assert len(pack_bits(PanelFrame(128, 32, "mono", bytes(128 * 32)))) == 512


@given(st.integers(1, 70), st.integers(1, 9), st.data())
def test_bit_packing_round_trips_at_any_width(width: int, height: int, data: st.DataObject) -> None:
    pixels = data.draw(st.binary(min_size=width * height, max_size=width * height))
    frame = PanelFrame(width, height, "mono", bytes(1 if b & 1 else 0 for b in pixels))
    assert unpack_bits(pack_bits(frame), (width, height)) == frame
