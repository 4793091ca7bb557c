"""Images from `data:` URIs and downloaded files: decoding, caching, contain/cover scaling.

Nothing here raises on bad input: an image that cannot be decoded is simply not drawn
(validation reports broken images upstream; the renderer must keep the board alive).
"""

from __future__ import annotations

import hashlib
import io
import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

import pygame

from display_layouts.image_formats import FORMATS, JPEG, PNG, decode_data_uri, format_of

# A PNG of a few hundred kilobytes can claim 30000x30000 pixels (3.6 GB decoded): the
# header is read first and anything larger than a 4K frame is refused.
MAX_PIXELS = 4096 * 4096
# A downloaded file is read whole before its header is checked: bound what that costs.
MAX_FILE_BYTES = 32 * 1024 * 1024

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
        while len(_checked) > _KNOWN:
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


def load(data: bytes) -> pygame.Surface | None:
    """Decode PNG or JPEG bytes into a 32-bit surface, or None if they are not usable."""
    kind, size = format_of(data), image_size(data)
    if kind is None or size is None or size[0] <= 0 or size[1] <= 0:
        return None
    if size[0] * size[1] > MAX_PIXELS:
        return None
    try:
        image = pygame.image.load(io.BytesIO(data), kind.hint)
        # 32-bit with alpha: smoothscale refuses palette images, and convert_alpha()
        # needs a display, which a headless agent does not have.
        return image.convert(pygame.Surface((1, 1), pygame.SRCALPHA, 32))
    except (pygame.error, ValueError, OSError, MemoryError):
        return None


def contain(size: tuple[int, int], box: pygame.Rect) -> pygame.Rect:
    """The largest rectangle of `size`'s aspect ratio inside `box`, centred."""
    return _scaled_to(size, box, min(box.width / size[0], box.height / size[1]))


def cover(size: tuple[int, int], box: pygame.Rect) -> pygame.Rect:
    """The smallest rectangle of `size`'s aspect ratio covering `box`, centred."""
    return _scaled_to(size, box, max(box.width / size[0], box.height / size[1]))


def _scaled_to(size: tuple[int, int], box: pygame.Rect, scale: float) -> pygame.Rect:
    width, height = size
    fitted = pygame.Rect(0, 0, max(1, round(width * scale)), max(1, round(height * scale)))
    fitted.center = box.center
    return fitted


Fit = Literal["contain", "cover"]
_PLACE = {"contain": contain, "cover": cover}

K = TypeVar("K")
V = TypeVar("V")


# Pixels kept decoded, and kept scaled: a full-screen picture is 8 MB at 1920×1080, and
# the whole agent should stay near 64 MB. The newest entry is kept whatever its size.
DECODED_BUDGET = 16 * 1024 * 1024
SCALED_BUDGET = 24 * 1024 * 1024
_KNOWN = 256  # answers to "does this image decode?" remembered (a few bytes each)


class ImageCache:
    """Decoded and scaled images, least recently used out, within a byte budget.

    Keys are the SHA-256 of a data: URI, or of the file's content for a downloaded image.
    Whether a key decodes is remembered apart from its pixels: a broken image costs one
    attempt, not one per frame, and asking whether an image is ready never decodes twice.
    """

    def __init__(
        self,
        capacity: int = 8,
        budgets: tuple[int, int] = (DECODED_BUDGET, SCALED_BUDGET),
    ) -> None:
        self.capacity = capacity
        self.budgets = budgets
        self._known: OrderedDict[str, bool] = OrderedDict()
        self._decoded: OrderedDict[str, pygame.Surface] = OrderedDict()
        self._scaled: OrderedDict[tuple[str, int, int], pygame.Surface] = OrderedDict()

    def decoded(self, key: str, read: Callable[[], bytes | None]) -> pygame.Surface | None:
        """The image under `key`, decoding what `read` returns (unless known broken)."""
        image = self._decoded.get(key)
        if image is not None:
            self._decoded.move_to_end(key)
            return image
        if self._known.get(key) is False:
            return None
        data = read()
        image = None if data is None else load(data)
        _remember(self._known, key, image is not None, _KNOWN)
        if image is not None:
            _remember(self._decoded, key, image, self.capacity, self.budgets[0])
        return image

    def usable_key(self, key: str, read: Callable[[], bytes | None]) -> bool:
        """Whether the image under `key` decodes (decoding it only the first time)."""
        known = self._known.get(key)
        if known is not None:
            self._known.move_to_end(key)
            return known
        return self.decoded(key, read) is not None

    def placed(
        self, key: str, image: pygame.Surface, box: pygame.Rect, fit: Fit = "contain"
    ) -> tuple[pygame.Surface, pygame.Rect] | None:
        """The image scaled for `box` and where to blit it (it may overhang for "cover")."""
        if box.width <= 0 or box.height <= 0:
            return None
        target = _PLACE[fit](image.get_size(), box)
        scaled_key = (key, target.width, target.height)
        scaled = self._scaled.get(scaled_key)
        if scaled is None:
            scaled = pygame.transform.smoothscale(image, target.size)
            _remember(self._scaled, scaled_key, scaled, self.capacity, self.budgets[1])
        else:
            self._scaled.move_to_end(scaled_key)
        return scaled, target

    def usable(self, uri: str) -> bool:
        """Whether a data: URI decodes to an image (decoded once, then cached)."""
        return self.usable_key(uri_key(uri), lambda: decode_data_uri(uri))

    def fitted(self, uri: str, box: pygame.Rect) -> tuple[pygame.Surface, pygame.Rect] | None:
        """A data: URI's image contain-fitted to `box`, or None if unusable."""
        key, image = self._uri(uri)
        return None if image is None else self.placed(key, image, box)

    def _uri(self, uri: str) -> tuple[str, pygame.Surface | None]:
        key = uri_key(uri)
        return key, self.decoded(key, lambda: decode_data_uri(uri))


def read_image_file(path: Path) -> bytes | None:
    """A downloaded image's bytes; None if it is gone or absurdly large."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None
    return data if len(data) <= MAX_FILE_BYTES else None


@lru_cache(maxsize=64)
def uri_key(uri: str) -> str:
    # Cached: the renderer asks for the key of the same URI every frame.
    return hashlib.sha256(uri.encode("utf-8", "surrogatepass")).hexdigest()


def _remember(
    cache: OrderedDict[K, V], key: K, value: V, capacity: int, budget: int | None = None
) -> None:
    cache[key] = value
    while len(cache) > capacity or (
        budget is not None and len(cache) > 1 and sum(map(_bytes, cache.values())) > budget
    ):
        cache.popitem(last=False)


def _bytes(value: object) -> int:
    if isinstance(value, pygame.Surface):
        return value.get_width() * value.get_height() * value.get_bytesize()
    return 0
