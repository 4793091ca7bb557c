"""Whether bytes are a picture the board can show: the size from the header first, then
one decode in bounded memory (PNG row by row without keeping the pixels, JPEG by pygame
one at a time). The agent's checks, its downloader and its asset cache ask this; the
renderer only draws what passed (images.py).
"""

from __future__ import annotations

import hashlib
import io
import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import pygame

from display_layouts.image_formats import FORMATS, JPEG, PNG, format_of

# JPEG start-of-frame markers (baseline, progressive, …) carry the image size.
_JPEG_SOF = frozenset(
    {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), 0xCD, 0xCE, 0xCF}
)


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG or JPEG header, without decoding the pixels."""
    kind = format_of(data)
    if kind is PNG and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if kind is JPEG:
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    offset = 2
    while offset + 9 <= len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte before a marker
            offset += 1
            continue
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
            return int(width), int(height)
        offset += 2 + length
    return None


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """How big a picture the board accepts, checked from the header before any decoding.

    A decoded picture costs width × height × 4 bytes: the default of 4 megapixels is
    16 MB, a quarter of the board's memory budget (docs/performance.md).
    """

    max_side: int = 8192
    max_pixels: int = 4 * 1024 * 1024


DEFAULT_LIMITS = ImageLimits()

# Colour type → allowed bit depths and samples per pixel (PNG spec, table 11.1).
_PNG_COLOUR = {
    0: ({1, 2, 4, 8, 16}, 1),
    2: ({8, 16}, 3),
    3: ({1, 2, 4, 8}, 1),
    4: ({8, 16}, 2),
    6: ({8, 16}, 4),
}
# Adam7 passes: x start, y start, x step, y step.
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)
_JPEG_DECODE = threading.Lock()  # one JPEG verified at a time: bounded memory
_checked: OrderedDict[tuple[str, ImageLimits], str | None] = OrderedDict()
_checked_lock = threading.Lock()
KNOWN_ANSWERS = 256  # answers to "does this image decode?" remembered (a few bytes each)


def check_image(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> str | None:
    """Why these bytes are not a picture the board can show, or None when they are.

    The size comes from the header first (a 30000×30000 declaration costs nothing); then
    the whole picture is decoded once, in bounded memory: a PNG's compressed stream is
    inflated piece by piece and checked row by row without keeping the pixels; a JPEG
    (no such decoder in the standard library) is decoded by pygame, one at a time, and
    only once its header has passed the limits. Answers are remembered by content.
    """
    key = (hashlib.sha256(data).hexdigest(), limits)
    with _checked_lock:
        if key in _checked:
            _checked.move_to_end(key)
            return _checked[key]
    problem = _check_image(data, limits)
    with _checked_lock:
        _checked[key] = problem
        while len(_checked) > KNOWN_ANSWERS:
            _checked.popitem(last=False)
    return problem


_NOT_A_PICTURE = f"not a {' or '.join(known.name for known in FORMATS)} image"


class _Unusable(Exception):
    """Why a picture cannot be shown (raised inside the checks, returned as text)."""


def _check_image(data: bytes, limits: ImageLimits) -> str | None:
    try:
        kind = format_of(data)
        if kind is None:
            raise _Unusable(_NOT_A_PICTURE)
        width, height = _checked_size(data, limits)
        if kind is PNG:
            _check_png(data, width, height)
        else:
            _check_jpeg(data)
    except _Unusable as exc:
        return str(exc)
    return None


def _checked_size(data: bytes, limits: ImageLimits) -> tuple[int, int]:
    size = image_size(data)
    if size is None:
        raise _Unusable("the image header is damaged: no width and height in it")
    width, height = size
    if width <= 0 or height <= 0:
        raise _Unusable(f"the image header declares {width}×{height} pixels")
    if width > limits.max_side or height > limits.max_side:
        raise _Unusable(
            f"the image declares {width}×{height} pixels; "
            f"the limit is {limits.max_side} pixels a side"
        )
    if width * height > limits.max_pixels:
        raise _Unusable(
            f"the image declares {width}×{height} pixels ({width * height / 1e6:.1f} MP); "
            f"the limit is {limits.max_pixels / 1e6:.1f} MP"
        )
    return width, height


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, body) of each chunk up to IEND, checksums checked."""
    offset = len(PNG.signature)
    while True:
        if offset + 12 > len(data):
            raise _Unusable("the PNG file is truncated (it ends before its IEND chunk)")
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        end = offset + 12 + length
        if end > len(data):
            raise _Unusable("the PNG file is truncated (a chunk runs past the end of the file)")
        body = data[offset + 8 : offset + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[end - 4 : end])[0]:
            name = kind.decode("latin-1")
            raise _Unusable(f"the PNG file is damaged (bad checksum in its {name!r} chunk)")
        yield kind, body
        if kind == b"IEND":
            return
        offset = end


class _PngPixels:
    """The compressed pixel stream inflated piece by piece, never kept: only its length
    and each row's filter byte are checked, so memory stays at one 64 KiB piece."""

    def __init__(self, rows: list[tuple[int, int]]) -> None:
        self.rows = rows  # (bytes per row with its filter byte, row count) per pass
        self.expected = sum(size * count for size, count in rows)
        self.inflater = zlib.decompressobj()
        self.position = 0  # bytes of the stream checked so far
        self.next_filter = 0  # where the next row's filter byte is
        self.row_index = 0

    def feed(self, compressed: bytes) -> None:
        try:
            while compressed:
                piece = self.inflater.decompress(compressed, 64 * 1024)
                compressed = self.inflater.unconsumed_tail
                self._check(piece)
        except zlib.error as exc:
            raise _Unusable(f"the PNG's pixel data is damaged ({exc})") from None

    def _check(self, piece: bytes) -> None:
        end = self.position + len(piece)
        if end > self.expected:
            raise _Unusable("the PNG holds more pixel data than its size says (a bomb?)")
        # Every row starts with a filter type 0–4; libpng refuses anything else.
        while self.next_filter < end:
            if piece[self.next_filter - self.position] > 4:
                raise _Unusable("the PNG's pixel data is damaged (bad row filter)")
            self.next_filter += _row_length(self.rows, self.row_index)
            self.row_index += 1
        self.position = end

    def finish(self) -> None:
        if self.position != self.expected or not self.inflater.eof:
            raise _Unusable("the PNG's pixel data is incomplete (truncated or damaged)")


def _check_png(data: bytes, width: int, height: int) -> None:
    pixels: _PngPixels | None = None
    palette_needed = seen_palette = False
    for kind, body in _png_chunks(data):
        if kind == b"IHDR":
            pixels = _PngPixels(_png_rows(body, width, height))
            palette_needed = body[9] == 3
        elif kind == b"PLTE":
            seen_palette = True
        elif kind == b"IDAT":
            if pixels is None:
                raise _Unusable("the PNG file is damaged (pixel data before its header)")
            if palette_needed and not seen_palette:
                raise _Unusable("the PNG file is damaged (a palette image without a palette)")
            pixels.feed(body)
    if pixels is None:
        raise _Unusable("the PNG file is damaged (no header chunk)")
    pixels.finish()


def _png_rows(ihdr: bytes, width: int, height: int) -> list[tuple[int, int]]:
    """The (row length, row count) of each pass of the picture."""
    if len(ihdr) != 13:
        raise _Unusable("the PNG header is damaged")
    depth, colour, compression, filtering, interlace = ihdr[8:13]
    allowed = _PNG_COLOUR.get(colour)
    if allowed is None or depth not in allowed[0] or compression or filtering or interlace > 1:
        raise _Unusable(f"the PNG header is damaged (bit depth {depth}, colour type {colour})")
    bits = depth * allowed[1]
    rows = []
    for x0, y0, dx, dy in _ADAM7 if interlace else ((0, 0, 1, 1),):
        pass_width = (width - x0 + dx - 1) // dx
        pass_rows = (height - y0 + dy - 1) // dy
        if pass_width > 0 and pass_rows > 0:
            rows.append((1 + (pass_width * bits + 7) // 8, pass_rows))
    return rows


def _row_length(rows: list[tuple[int, int]], row_index: int) -> int:
    """The length of row `row_index` counted across passes (past the end: a huge step)."""
    for size, count in rows:
        if row_index < count:
            return size
        row_index -= count
    return 1 << 62


def _check_jpeg(data: bytes) -> None:
    if not data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9"):
        raise _Unusable("the JPEG file is truncated (no end-of-image marker)")
    with _JPEG_DECODE:
        try:
            pygame.image.load(io.BytesIO(data), JPEG.hint)
        except (pygame.error, ValueError, OSError, MemoryError) as exc:
            raise _Unusable(f"the JPEG does not decode ({exc})") from None
