"""Images from `data:` URIs and downloaded files: decoding, caching, contain/cover scaling.
(Whether bytes are a picture the board accepts at all is `image_check.py`.)

Nothing here raises on bad input: an image that cannot be decoded is simply not drawn
(validation reports broken images upstream; the renderer must keep the board alive).
"""

from __future__ import annotations

import hashlib
import io
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

import pygame

from display_layouts.image_check import KNOWN_ANSWERS, image_size
from display_layouts.image_formats import decode_data_uri, format_of

# A PNG of a few hundred kilobytes can claim 30000x30000 pixels (3.6 GB decoded): the
# header is read first and anything larger than a 4K frame is refused.
MAX_PIXELS = 4096 * 4096
# A downloaded file is read whole before its header is checked: bound what that costs.
MAX_FILE_BYTES = 32 * 1024 * 1024


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
        _remember(self._known, key, image is not None, KNOWN_ANSWERS)
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
