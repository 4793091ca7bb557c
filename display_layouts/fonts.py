"""The bundled fonts (Noto Sans and GNU Unifont, OFL) and what they can draw.

pygame's default font lacks most Vietnamese letters, so the agent ships Noto Sans, which
covers all of them. LED panels get GNU Unifont instead: a bitmap design on a 16-pixel
grid whose stacked marks (ẩ, ễ, Ủ) stay distinct at 16 rows, where a scaled-down outline
font merges them into a blob. One `pygame.freetype.Font` per face serves every size: the
size is passed at render time, so there is no per-size font object to build or leak.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path

import pygame.freetype

FONT_DIR = Path(__file__).resolve().with_name("fonts")

ELLIPSIS = "…"

# Any size works for a coverage probe: a glyph is either in the font or not.
_PROBE_SIZE = 16

# Tallest and deepest Vietnamese letters: stacked marks above capitals, dot below.
TALL = "ẪỖẨỄ"
DEEP = "ẶỴỵgjặ"


class Face(Enum):
    REGULAR = "NotoSans-Regular.ttf"
    BOLD = "NotoSans-Bold.ttf"
    PIXEL = "Unifont-VN.otf"

    @property
    def grid(self) -> int:
        """Sizes must be a multiple of this to stay crisp (1: any size)."""
        return PIXEL_GRID if self is Face.PIXEL else 1


# Unifont's glyphs are drawn on 16-pixel cells: at 16, 32, 48 … every outline edge falls
# on a pixel boundary, so each LED shows a whole dot or none.
PIXEL_GRID = 16


@dataclass(frozen=True, slots=True)
class VerticalMetrics:
    """Pixel extents of a line at one size: ascent above and descent below the baseline."""

    ascent: int
    descent: int

    @property
    def line_height(self) -> int:
        # Baseline to baseline: a stacked capital (Ẫ) under a descender (g) never touches.
        return self.ascent + self.descent


# pygame.freetype keeps each Font's rendered glyphs in a hash table of this many buckets,
# two deep (so about twice as many glyphs), and it keeps every glyph it measures, not only
# those it draws: fitting tries several sizes. 32 is its smallest table (64 by default);
# at 1920x1080 the bigger table held ~0.8 MB more of bitmaps after a 20-item rotation.
GLYPH_CACHE = 32


def init_freetype() -> None:
    """pygame.freetype with the agent's glyph cache size (which only the first init sets;
    the agent never calls pygame.init(), which would init it with the default)."""
    pygame.freetype.init(cache_size=GLYPH_CACHE)


class FontFace:
    """One loaded face with caches of glyph coverage, advances and vertical metrics."""

    def __init__(self, path: Path) -> None:
        init_freetype()
        self.path = path
        self.font = _open(path)
        self._covered: dict[str, bool] = {"\n": True}
        self._advances: dict[int, dict[str, float]] = {}
        self._vertical: dict[int, VerticalMetrics] = {}

    def covers(self, char: str) -> bool:
        """Whether the font has a glyph for `char` (cached: freetype is asked once)."""
        known = self._covered.get(char)
        if known is None:
            known = self._probe(char)
            self._covered[char] = known
        return known

    def _probe(self, char: str) -> bool:
        if unicodedata.category(char) == "Cs":
            return False  # a lone surrogate cannot even be passed to freetype
        metrics = self.font.get_metrics(char, size=_PROBE_SIZE)
        return bool(metrics) and metrics[0] is not None

    def drawable(self, text: str) -> tuple[str, int]:
        """`text` without the characters the font lacks, and how many were dropped.

        Drawing them would show .notdef boxes ("tofu"), which look like a broken board.
        """
        missing = [char for char in set(text) if not self.covers(char)]
        if not missing:
            return text, 0
        dropped = sum(text.count(char) for char in missing)
        return text.translate(dict.fromkeys(map(ord, missing))), dropped

    def width(self, text: str, size: int) -> float:
        """Advance width of `text` at `size` (only characters the font covers)."""
        table = self._advances.setdefault(size, {})
        try:
            return sum(table[char] for char in text)
        except KeyError:
            self._learn_advances(table, text, size)
            return sum(table[char] for char in text)

    def _learn_advances(self, table: dict[str, float], text: str, size: int) -> None:
        unknown = "".join(set(text).difference(table))
        for char, metrics in zip(unknown, self.font.get_metrics(unknown, size=size), strict=True):
            table[char] = 0.0 if metrics is None else float(metrics[4])

    def pixel_width(self, text: str, size: int) -> int:
        return math.ceil(self.width(text, size))

    def vertical(self, size: int) -> VerticalMetrics:
        known = self._vertical.get(size)
        if known is None:
            known = self._measure_vertical(size)
            self._vertical[size] = known
        return known

    def _measure_vertical(self, size: int) -> VerticalMetrics:
        # The font's ascender already clears Noto's stacked capitals, but hinting at small
        # sizes can round either way: take the larger so no diacritic is ever cut.
        # Measured on a Font of its own, dropped on return: pygame.freetype rasterises
        # every glyph it measures and keeps the bitmap in the Font's glyph cache (up to
        # ~128 glyphs). Fitting a big clock tries ten sizes up to ~450 px, and these ten
        # stacked capitals at each were 3-4 MB of bitmaps kept in the drawing Font
        # (never drawn: they are a probe). Opening the face again costs ~0.07 ms, a
        # tenth of the measuring; the metrics are the same (same file and settings).
        probe = _open(self.path)
        probe.antialiased = self.font.antialiased  # the cache keys on it: as it was
        tall = probe.get_rect(TALL, size=size)
        deep = probe.get_rect(DEEP, size=size)
        ascent = max(probe.get_sized_ascender(size), tall.y)
        descent = max(-probe.get_sized_descender(size), deep.height - deep.y)
        return VerticalMetrics(ascent=ascent, descent=descent)


def _open(path: Path) -> pygame.freetype.Font:
    font = pygame.freetype.Font(str(path))
    # The render position is the pen origin on the baseline, so every line of a block
    # sits on a regular baseline grid whatever its ink (accents, descenders).
    font.origin = True
    font.pad = False
    # Kerning off: a line's width is then exactly the sum of its advances, which lets
    # wrapping measure words once instead of re-measuring every candidate line.
    font.kerning = False
    return font


@cache
def face(kind: Face) -> FontFace:
    """The process-wide face object for `kind`, loaded on first use."""
    return FontFace(FONT_DIR / kind.value)
