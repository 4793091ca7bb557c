"""A frame in the controller's colour model, and back to an image.

Pixels are row-major, one byte per pixel for mono (0 off, 1 on) and tricolor (bit 0 red,
bit 1 green: 0 off, 1 red, 2 green, 3 amber — the Alpha picture digits), three bytes per
pixel for rgb. Byte-string operations (`translate`, slicing, big-integer bit packing)
keep a 192×64 frame well under a millisecond without numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from firmware_bridge.protocols.common import ColorModel

Rgb = tuple[int, int, int]

OFF: Rgb = (0, 0, 0)
RED: Rgb = (255, 0, 0)
GREEN: Rgb = (0, 255, 0)
AMBER: Rgb = (255, 176, 0)
TRICOLOR_PALETTE: tuple[Rgb, Rgb, Rgb, Rgb] = (OFF, RED, GREEN, AMBER)
MONO_ON: Rgb = AMBER  # how a lit mono LED is drawn (screenshots, simulator)

BYTES_PER_PIXEL: dict[ColorModel, int] = {"mono": 1, "tricolor": 1, "rgb": 3}


@dataclass(frozen=True, slots=True)
class PanelFrame:
    width: int
    height: int
    color: ColorModel
    pixels: bytes

    def __post_init__(self) -> None:
        expected = self.width * self.height * BYTES_PER_PIXEL[self.color]
        if len(self.pixels) != expected:
            raise ValueError(f"{len(self.pixels)} pixel bytes for a {self.width}×{self.height}")

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    def rows(self) -> list[bytes]:
        stride = self.width * BYTES_PER_PIXEL[self.color]
        return [self.pixels[y * stride : (y + 1) * stride] for y in range(self.height)]

    def is_dark(self) -> bool:
        return not any(self.pixels)

    def rgb(self, mono_on: Rgb = MONO_ON) -> bytes:
        """Three bytes per pixel, as an RGB controller or an image wants them."""
        if self.color == "rgb":
            return self.pixels
        palette = (OFF, mono_on) if self.color == "mono" else TRICOLOR_PALETTE
        return expand_indices(self.pixels, palette)


def blank(size: tuple[int, int], color: ColorModel) -> PanelFrame:
    width, height = size
    return PanelFrame(width, height, color, bytes(width * height * BYTES_PER_PIXEL[color]))


def expand_indices(indices: bytes, palette: tuple[Rgb, ...]) -> bytes:
    """Palette indices to RGB triples (indices beyond the palette draw as off)."""
    out = bytearray(len(indices) * 3)
    for channel in range(3):
        table = bytes(palette[i][channel] if i < len(palette) else 0 for i in range(256))
        out[channel::3] = indices.translate(table)
    return bytes(out)


def to_surface(frame: PanelFrame, mono_on: Rgb = MONO_ON) -> pygame.Surface:
    return pygame.image.frombytes(frame.rgb(mono_on), frame.size, "RGB")


# --- one bit per pixel --------------------------------------------------------------------

_AS_DIGIT = bytes(0x30 + (i != 0) for i in range(256))  # 0 → "0", anything else → "1"


def pack_bits(frame: PanelFrame) -> bytes:
    """Mono pixels as bits, most significant first; each row padded to whole bytes (the
    layout of LED matrix row buffers; no padding at all for widths that are multiples
    of 8)."""
    row_bytes = (frame.width + 7) // 8
    pad = row_bytes * 8 - frame.width
    packed = bytearray()
    for row in frame.rows():
        bits = int(row.translate(_AS_DIGIT), 2) if row else 0
        packed += (bits << pad).to_bytes(row_bytes, "big")
    return bytes(packed)


def unpack_bits(data: bytes, size: tuple[int, int]) -> PanelFrame:
    """The inverse of `pack_bits`; `data` must hold ceil(width/8) × height bytes."""
    width, height = size
    row_bytes = (width + 7) // 8
    pixels = bytearray()
    for y in range(height):
        chunk = data[y * row_bytes : (y + 1) * row_bytes]
        digits = format(int.from_bytes(chunk, "big"), f"0{row_bytes * 8}b")[:width]
        pixels += digits.encode().translate(_DIGIT_VALUE)
    return PanelFrame(width, height, "mono", bytes(pixels))


_DIGIT_VALUE = bytes(1 if i == 0x31 else 0 for i in range(256))
