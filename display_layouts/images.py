"""Images carried in `data:` URIs: decoding, caching and contain-fit scaling.

Nothing here raises on bad input: an image that cannot be decoded is simply not drawn
(validation reports broken images upstream; the renderer must keep the board alive).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import struct
from collections import OrderedDict
from typing import TypeVar

import pygame

# A PNG of a few hundred kilobytes can claim 30000x30000 pixels (3.6 GB decoded): the
# header is read first and anything larger than a 4K frame is refused.
MAX_PIXELS = 4096 * 4096

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8"
# JPEG start-of-frame markers (baseline, progressive, …) carry the image size.
_JPEG_SOF = frozenset(
    {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), 0xCD, 0xCE, 0xCF}
)


def decode_data_uri(uri: str) -> bytes | None:
    """The bytes of a base64 `data:image/…` URI, or None if it is not one."""
    header, comma, payload = uri.partition(",")
    if not comma or not header.startswith("data:image/") or not header.endswith(";base64"):
        return None
    try:
        return base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG or JPEG header, without decoding the pixels."""
    if data.startswith(_PNG_SIGNATURE) and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(_JPEG_SIGNATURE):
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


def load(data: bytes) -> pygame.Surface | None:
    """Decode PNG or JPEG bytes into a 32-bit surface, or None if they are not usable."""
    size = image_size(data)
    if size is None or size[0] <= 0 or size[1] <= 0 or size[0] * size[1] > MAX_PIXELS:
        return None
    hint = "image.png" if data.startswith(_PNG_SIGNATURE) else "image.jpg"
    try:
        image = pygame.image.load(io.BytesIO(data), hint)
        # 32-bit with alpha: smoothscale refuses palette images, and convert_alpha()
        # needs a display, which a headless agent does not have.
        return image.convert(pygame.Surface((1, 1), pygame.SRCALPHA, 32))
    except (pygame.error, ValueError, OSError, MemoryError):
        return None


def contain(size: tuple[int, int], box: pygame.Rect) -> pygame.Rect:
    """The largest rectangle of `size`'s aspect ratio inside `box`, centred."""
    width, height = size
    scale = min(box.width / width, box.height / height)
    fitted = pygame.Rect(0, 0, max(1, round(width * scale)), max(1, round(height * scale)))
    fitted.center = box.center
    return fitted


K = TypeVar("K")
V = TypeVar("V")


class ImageCache:
    """Decoded and scaled images, keyed by the SHA-256 of their URI, least recent out.

    A failed decode is cached too (as None), so a broken image costs one attempt, not
    one per frame.
    """

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self._decoded: OrderedDict[str, pygame.Surface | None] = OrderedDict()
        self._scaled: OrderedDict[tuple[str, int, int], pygame.Surface] = OrderedDict()

    def usable(self, uri: str) -> bool:
        """Whether the URI decodes to an image (decoded once, then cached)."""
        return self._decode(_key(uri), uri) is not None

    def fitted(self, uri: str, box: pygame.Rect) -> tuple[pygame.Surface, pygame.Rect] | None:
        """The image scaled to fit `box` and where to blit it, or None if unusable."""
        key = _key(uri)
        image = self._decode(key, uri)
        if image is None or box.width <= 0 or box.height <= 0:
            return None
        target = contain(image.get_size(), box)
        scaled_key = (key, target.width, target.height)
        scaled = self._scaled.get(scaled_key)
        if scaled is None:
            scaled = pygame.transform.smoothscale(image, target.size)
            _remember(self._scaled, scaled_key, scaled, self.capacity)
        else:
            self._scaled.move_to_end(scaled_key)
        return scaled, target

    def _decode(self, key: str, uri: str) -> pygame.Surface | None:
        if key in self._decoded:
            self._decoded.move_to_end(key)
            return self._decoded[key]
        data = decode_data_uri(uri)
        image = None if data is None else load(data)
        _remember(self._decoded, key, image, self.capacity)
        return image


def _key(uri: str) -> str:
    return hashlib.sha256(uri.encode("utf-8", "surrogatepass")).hexdigest()


def _remember(cache: OrderedDict[K, V], key: K, value: V, capacity: int) -> None:
    cache[key] = value
    while len(cache) > capacity:
        cache.popitem(last=False)
