"""The rendered frame (a pygame Surface at panel size) in the controller's colour model.

- mono: luminance against a threshold, or ordered (Bayer 4×4) dither for pictures. The
  dither ramp only spans the mid-tones, so the theme's text colours (amber, white on
  navy) stay solid strokes and the navy background stays dark: speckled text is
  unreadable on a 4 mm pitch panel.
- tricolor: red and green LEDs each lit when their channel passes the threshold, which
  gives the red/green/amber palette (white text turns amber, as on real signs).
- rgb: gamma-corrected (LEDs are linear, frames are not) and scaled by brightness.
"""

from __future__ import annotations

import pygame

from firmware_bridge.frame import PanelFrame
from firmware_bridge.protocols.common import ColorModel, Dither

# Bayer 4×4: the order in which dots of a 4×4 cell light as the level rises.
_BAYER_4 = ((0, 8, 2, 10), (12, 4, 14, 6), (3, 11, 1, 9), (15, 7, 13, 5))
_RAMP_BELOW = 64  # the dither ramp starts this far below the threshold…
_RAMP_ABOVE = 32  # …and ends this far above it


def _threshold_table(threshold: int, on: int = 1) -> bytes:
    return bytes(on if level >= threshold else 0 for level in range(256))


def _dither_tables(threshold: int) -> list[list[bytes]]:
    low = max(0, threshold - _RAMP_BELOW)
    high = min(256, threshold + _RAMP_ABOVE)
    step = (high - low) / 16
    return [
        [_threshold_table(round(low + (rank + 0.5) * step)) for rank in row] for row in _BAYER_4
    ]


def _gamma_table(gamma: float, brightness: int) -> bytes:
    scale = max(0, min(100, brightness)) / 100
    return bytes(round(255 * (level / 255) ** gamma * scale) for level in range(256))


class FrameConverter:
    def __init__(
        self,
        color: ColorModel,
        *,
        threshold: int = 128,
        dither: Dither = "none",
        gamma: float = 2.2,
    ) -> None:
        self.color: ColorModel = color
        self._dither = dither
        self._gamma = gamma
        self._mono = _threshold_table(threshold)
        self._ordered = _dither_tables(threshold)
        self._red = _threshold_table(threshold, on=1)
        self._green = _threshold_table(threshold, on=2)
        self._rgb = _gamma_table(gamma, 100)

    def set_brightness(self, percent: int) -> None:
        """Scales rgb output; on/off pixels (mono, tricolor) cannot be dimmed this way."""
        self._rgb = _gamma_table(self._gamma, percent)

    def convert(self, surface: pygame.Surface) -> PanelFrame:
        width, height = surface.get_size()
        if self.color == "mono":
            pixels = self._to_mono(surface)
        elif self.color == "tricolor":
            pixels = self._to_tricolor(pygame.image.tobytes(surface, "RGB"))
        else:
            pixels = pygame.image.tobytes(surface, "RGB").translate(self._rgb)
        return PanelFrame(width, height, self.color, pixels)

    def _to_mono(self, surface: pygame.Surface) -> bytes:
        grey = pygame.image.tobytes(pygame.transform.grayscale(surface), "RGB")[0::3]
        if self._dither == "none":
            return grey.translate(self._mono)
        width, height = surface.get_size()
        out = bytearray(len(grey))
        for y in range(height):
            tables = self._ordered[y % 4]
            start, end = y * width, (y + 1) * width
            for phase in range(min(4, width)):
                out[start + phase : end : 4] = grey[start + phase : end : 4].translate(
                    tables[phase]
                )
        return bytes(out)

    def _to_tricolor(self, rgb: bytes) -> bytes:
        red = rgb[0::3].translate(self._red)
        green = rgb[1::3].translate(self._green)
        # One big-integer OR combines the red and green bits of every pixel at C speed.
        combined = int.from_bytes(red, "big") | int.from_bytes(green, "big")
        return combined.to_bytes(len(red), "big")
