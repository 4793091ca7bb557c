"""Text preparation, wrapping, auto-fitting and clipped drawing.

The pipeline is: `clean` (NFC, line breaks, tabs) -> drop characters the font lacks ->
`fit` (largest size whose wrapped lines fit the box, or the smallest size cut with "…")
-> `draw_block` (into a subsurface of the box, so no pixel lands outside it).

Measuring uses cached per-character advances (see fonts.FontFace.width), and wrapping is
lazy, so a fit attempt costs about as much as the text that can show, even for a
100 000-character input.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import Literal, NamedTuple

import pygame

from display_layouts.fonts import ELLIPSIS, Face, FontFace, face
from display_layouts.plain import clean

Color = tuple[int, int, int]
Align = Literal["left", "center", "right"]
VAlign = Literal["top", "middle", "bottom"]

# freetype refuses sizes below 1; below 4 px nothing is legible anyway.
MIN_FONT_SIZE = 4


class Line(NamedTuple):
    text: str
    broken: bool  # holds a piece of a word too long for one line


def wrap(font: FontFace, text: str, size: int, width: float) -> Iterator[Line]:
    """Lines of `text` no wider than `width`, lazily; '\\n' starts a new paragraph."""
    for paragraph in text.split("\n"):
        yield from _wrap_paragraph(font, paragraph, size, width)


def _wrap_paragraph(font: FontFace, paragraph: str, size: int, width: float) -> Iterator[Line]:
    space = font.width(" ", size)
    line, line_width, broken = "", 0.0, False
    for word in paragraph.split(" "):
        if not word:
            continue  # runs of spaces collapse; NBSP is not " " and keeps words together
        word_width = font.width(word, size)
        if line and line_width + space + word_width <= width:
            line, line_width = f"{line} {word}", line_width + space + word_width
            continue
        if line:
            yield Line(line, broken)
        line, line_width, broken = word, word_width, False
        if word_width > width:
            # Lazily: a 100 000-character "word" is cut only as far as anyone reads.
            pieces = _break_word(font, word, size, width)
            line = next(pieces)
            for piece in pieces:
                yield Line(line, True)
                line = piece
            line_width, broken = font.width(line, size), True
    yield Line(line, broken)  # an empty paragraph is an empty line, as typed


def _break_word(font: FontFace, word: str, size: int, width: float) -> Iterator[str]:
    """Pieces of `word` that each fit `width` (a single too-wide character stands alone)."""
    piece, piece_width = "", 0.0
    for cluster in _clusters(word):
        cluster_width = font.width(cluster, size)
        if piece and piece_width + cluster_width > width:
            yield piece
            piece, piece_width = "", 0.0
        piece, piece_width = piece + cluster, piece_width + cluster_width
    yield piece


def _clusters(word: str) -> Iterator[str]:
    """Base characters with their combining marks: a word is never cut between them."""
    cluster = ""
    for char in word:
        if cluster and not unicodedata.category(char).startswith("M"):
            yield cluster
            cluster = ""
        cluster += char
    if cluster:
        yield cluster


@dataclass(frozen=True, slots=True)
class TextBlock:
    """Text laid out for one box: its lines at one size, ready to draw."""

    face: Face
    size: int
    lines: tuple[str, ...]
    widths: tuple[int, ...]
    ascent: int
    line_height: int
    dropped: int  # characters removed because the font cannot draw them
    truncated: bool  # cut with an ellipsis: it did not fit even at the smallest size

    @property
    def height(self) -> int:
        return len(self.lines) * self.line_height if self.lines else 0

    @property
    def width(self) -> int:
        return max(self.widths, default=0)


@lru_cache(maxsize=256)
def fit(
    text: str,
    kind: Face,
    box: tuple[int, int],
    sizes: tuple[int, int],
    max_lines: int | None = None,
) -> TextBlock:
    """The largest size in `sizes` (min, max) at which `text` fits `box` (width, height).

    Sizes that would split a word across lines lose to smaller ones that keep words
    whole; only when nothing fits at the minimum is the last line cut with "…".
    Cached: a board redraws the same texts over and over.
    """
    font = face(kind)
    drawable, dropped = font.drawable(clean(text))
    drawable = drawable.strip()  # blank lines at either end would only shift the text
    low, high = _size_range(sizes, kind.grid)
    width, height = box
    if not drawable:
        return _block(font, kind, (), high, dropped, truncated=False)

    def fits(size: int, whole_words: bool) -> bool:
        limit = _line_limit(font, size, height, max_lines)
        lines = list(islice(wrap(font, drawable, size, width), limit + 1))
        return 0 < len(lines) <= limit and not (whole_words and any(line.broken for line in lines))

    size = _largest(lambda s: fits(s, True), low, high, kind.grid) or _largest(
        lambda s: fits(s, False), low, high, kind.grid
    )
    if size is not None:
        lines = [line.text for line in wrap(font, drawable, size, width)]
        return _block(font, kind, lines, size, dropped, truncated=False)
    return _truncated(font, kind, drawable, low, box, max_lines=max_lines, dropped=dropped)


def _size_range(sizes: tuple[int, int], grid: int = 1) -> tuple[int, int]:
    """`sizes` ordered, at least MIN_FONT_SIZE, and on the face's grid: a pixel font is
    never drawn between its crisp sizes, and at least at its smallest one."""
    low, high = (max(MIN_FONT_SIZE, size) for size in sorted(sizes))
    if grid > 1:
        low = max(grid, -(-low // grid) * grid)
        high = max(low, high // grid * grid)
    return low, high


def _line_limit(font: FontFace, size: int, height: int, max_lines: int | None) -> int:
    """How many lines of `size` the box holds (0: not even one)."""
    limit = height // font.vertical(size).line_height
    return limit if max_lines is None else min(limit, max(1, max_lines))


def _largest(fits: Callable[[int], bool], low: int, high: int, grid: int = 1) -> int | None:
    """Binary search for the largest size in [low, high] (multiples of `grid`, which both
    bounds are) that fits: whether text fits only gets worse as the size grows."""
    first, last = low // grid, high // grid
    if not fits(first * grid):
        return None
    while first < last:
        middle = (first + last + 1) // 2
        if fits(middle * grid):
            first = middle
        else:
            last = middle - 1
    return first * grid


def _truncated(
    font: FontFace,
    kind: Face,
    text: str,
    size: int,
    box: tuple[int, int],
    *,
    max_lines: int | None,
    dropped: int,
) -> TextBlock:
    """The text at the smallest size, cut after the lines the box holds, with "…"."""
    # At least one line: a box too short for a whole line shows it clipped, not nothing.
    limit = max(1, _line_limit(font, size, box[1], max_lines))
    lines = [line.text for line in islice(wrap(font, text, size, box[0]), limit + 1)]
    cut = len(lines) > limit
    if cut:
        lines = lines[:limit]
        lines[-1] = ellipsize(font, lines[-1], size, box[0])
    return _block(font, kind, lines, size, dropped, truncated=cut)


def ellipsize(font: FontFace, line: str, size: int, width: float) -> str:
    """`line` shortened so that it and a trailing "…" fit `width`."""
    room = width - font.width(ELLIPSIS, size)
    kept: list[str] = []
    used = 0.0
    for cluster in _clusters(line):
        used += font.width(cluster, size)
        if used > room:
            break
        kept.append(cluster)
    return "".join(kept).rstrip() + ELLIPSIS


def _block(
    font: FontFace,
    kind: Face,
    lines: Sequence[str],
    size: int,
    dropped: int,
    *,
    truncated: bool,
) -> TextBlock:
    vertical = font.vertical(size)
    return TextBlock(
        face=kind,
        size=size,
        lines=tuple(lines),
        widths=tuple(font.pixel_width(line, size) for line in lines),
        ascent=vertical.ascent,
        line_height=vertical.line_height,
        dropped=dropped,
        truncated=truncated,
    )


@dataclass(frozen=True, slots=True)
class TextStyle:
    face: Face
    color: Color
    align: Align = "left"
    valign: VAlign = "top"
    antialias: bool = True


def draw_block(
    surface: pygame.Surface, rect: pygame.Rect, block: TextBlock, style: TextStyle
) -> pygame.Rect:
    """Draw `block` inside `rect`; returns the area the lines occupy (within `rect`).

    pygame.freetype's render_to ignores Surface.set_clip (checked with pygame-ce 2.5.8),
    so the lines are drawn into a subsurface: its bounds are a hard wall, and a glyph
    overhanging the box is cut instead of spilling into the neighbouring zone.
    """
    area = rect.clip(surface.get_rect())
    if not block.lines or area.width <= 0 or area.height <= 0:
        return pygame.Rect(rect.x, rect.y, 0, 0)
    canvas = surface.subsurface(area)
    font = face(block.face).font
    # Shared Font object: set on every draw. A pixel font's grey edges would only blur it.
    font.antialiased = style.antialias and block.face.grid == 1
    top = rect.y + valign_offset(rect.height, block.height, style.valign)
    for index, (line, line_width) in enumerate(zip(block.lines, block.widths, strict=True)):
        if not line:
            continue
        x = rect.x + _indent(rect.width, line_width, style.align)
        baseline = top + block.ascent + index * block.line_height
        font.render_to(canvas, (x - area.x, baseline - area.y), line, style.color, size=block.size)
    left = rect.x + _indent(rect.width, block.width, style.align)
    return pygame.Rect(left, top, block.width, block.height).clip(rect)


def valign_offset(space: int, used: int, valign: VAlign) -> int:
    if valign == "top":
        return 0
    return _indent(space, used, "center" if valign == "middle" else "right")


def _indent(space: int, used: int, align: Align) -> int:
    # When the text is wider than the box, keep its start visible, whatever the alignment.
    free = max(0, space - used)
    if align == "left":
        return 0
    return free // 2 if align == "center" else free
