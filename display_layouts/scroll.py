"""Text scrolling sideways through a zone (tickers, LED text too long to stand still).

The position is a function of time: offset = seconds on screen × speed (pixels per
second), so the text moves at the same speed whatever the frame rate, and a dropped
frame is skipped, not replayed. The line is laid out once in chunks of a few words;
only the chunks in view are rendered (and kept), so a 100 000-character notice costs
what one screen of it costs.

Each chunk is rendered once and kept in the pixel layout of the surface it is drawn on
(FreeType gives RGBA; a display or a plain Surface is XRGB): SDL blends a matching layout
on its fast path, about 40 times faster at 1920×1080 than the generic one, to the same
pixels. A running ticker's frame is then a few blits of kept images.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from itertools import accumulate
from typing import TYPE_CHECKING, ClassVar, Protocol

import pygame

from display_layouts.fonts import Face, face
from display_layouts.paint import pixel_sizes
from display_layouts.plain import clean
from display_layouts.text import Color, VAlign, valign_offset

if TYPE_CHECKING:
    from display_layouts.paint import Paint

# About one word group per chunk: small enough to render lazily, large enough that a
# screen needs only a handful.
_CHUNK_CHARS = 24
_RENDERED_CHUNKS = 16  # a 1920-pixel band shows about five


class Strip:
    """One line of text, laid out for scrolling at one size and colour."""

    renders: ClassVar[int] = 0  # chunks FreeType rendered, all strips: once each, not per frame

    def __init__(self, text: str, kind: Face, size: int, color: Color, antialias: bool) -> None:
        self.kind, self.size, self.color = kind, size, color
        self.antialias = antialias and kind.grid == 1
        font = face(kind)
        line, self.dropped = font.drawable(" ".join(clean(text).split()))
        self.chunks = _chunks(line)
        # Chunk positions are rounded sums of exact advances: no drift along the line.
        edges = list(accumulate((font.width(chunk, size) for chunk in self.chunks), initial=0.0))
        self.starts = [round(edge) for edge in edges[:-1]]
        self.width = round(edges[-1])
        vertical = font.vertical(size)
        self.ascent, self.height = vertical.ascent, vertical.line_height
        self._rendered: OrderedDict[int, tuple[pygame.Surface, pygame.Rect]] = OrderedDict()
        self._layout: tuple[int, ...] = ()  # the pixel layout the kept chunks are in

    def draw(self, area: pygame.Surface, x: int, top: int, after: int = 0) -> None:
        """Draw the line with its start at `x` (may be far left of `area`), cut to `area`;
        only what lies right of `after` (the rest is there already: Run.slide)."""
        view = area.get_width()
        layout = blend_layout(area)
        if layout != self._layout:  # drawn on another kind of surface: kept ones unusable
            self._rendered.clear()
            self._layout = layout
        # From the chunk before the one at `after`: its last glyph may overhang a pixel.
        first = max(0, bisect.bisect_right(self.starts, after - x) - 2)
        baseline = top + self.ascent
        for index in range(first, len(self.chunks)):
            left = x + self.starts[index]
            if left >= view:
                break
            image, rect = self._chunk(index)
            area.blit(image, (left + rect.x, baseline - rect.y))

    def _chunk(self, index: int) -> tuple[pygame.Surface, pygame.Rect]:
        known = self._rendered.get(index)
        if known is not None:
            self._rendered.move_to_end(index)
            return known
        font = face(self.kind).font
        font.antialiased = self.antialias
        image, rect = font.render(self.chunks[index], self.color, size=self.size)
        Strip.renders += 1
        rendered = image.convert(_template(self._layout)), rect
        self._rendered[index] = rendered
        while len(self._rendered) > _RENDERED_CHUNKS:
            self._rendered.popitem(last=False)
        return rendered


_ARGB = (0xFF0000, 0xFF00, 0xFF, 0xFF000000)


def blend_layout(target: pygame.Surface) -> tuple[int, ...]:
    """The 32-bit layout, with alpha, that SDL blends onto `target` fastest: its own
    colour masks and the spare byte as alpha; ARGB for a 16- or 24-bit target."""
    if target.get_bitsize() != 32:
        return _ARGB
    red, green, blue, alpha = target.get_masks()
    return red, green, blue, alpha or 0xFFFFFFFF ^ (red | green | blue)


@lru_cache(maxsize=4)
def _template(layout: tuple[int, ...]) -> pygame.Surface:
    """A 1×1 surface in `layout`: what `Surface.convert` copies a layout from (it needs
    no display, unlike `convert_alpha`)."""
    return pygame.Surface((1, 1), pygame.SRCALPHA, 32, masks=layout)


def _chunks(line: str) -> list[str]:
    """The line cut after spaces into pieces of about _CHUNK_CHARS (long words are cut)."""
    chunks: list[str] = []
    start = 0
    while start < len(line):
        end = min(len(line), start + _CHUNK_CHARS)
        space = line.find(" ", end)
        end = len(line) if space < 0 or space - start > 4 * _CHUNK_CHARS else space + 1
        end = min(end, start + 4 * _CHUNK_CHARS)
        while end < len(line) and unicodedata.combining(line[end]):
            end += 1  # a mark stays with its letter
        chunks.append(line[start:end])
        start = end
    return chunks


@lru_cache(maxsize=4)  # the strips on screen; each holds its rendered chunks
def strip(text: str, kind: Face, size: int, color: Color, antialias: bool) -> Strip:
    """The laid-out strip for these settings (shared: a ticker draws it every frame)."""
    return Strip(text, kind, size, color, antialias)


def line_size(kind: Face, height: int, sizes: tuple[int, int]) -> int:
    """The largest size in `sizes` whose line fits `height` (the smallest if none does)."""
    grid = kind.grid
    low, high = sorted(sizes)
    low = max(grid, -(-low // grid) * grid) if grid > 1 else max(4, low)
    high = max(low, high // grid * grid)
    font = face(kind)
    fitting = [s for s in range(low, high + 1, grid) if font.vertical(s).line_height <= height]
    return fitting[-1] if fitting else low


def draw_scrolling(
    area: pygame.Surface, line: Strip, start: float, gap: int, top: int, *, after: int = 0
) -> int:
    """The line starting at x = `start` (negative once it has scrolled), drawn again
    after every `gap` pixels so that the band never runs empty (right of `after` only);
    returns where the first copy starts: the band shows a pattern of that phase."""
    period = line.width + max(1, gap)
    first = x = round(start % period) - period
    while x < area.get_width():
        if x + line.width > after:
            line.draw(area, x, top, after)
        x += period
    return first


class Scrolling(Protocol):
    """The settings a scrolling zone has (ticker, text with `overflow: scroll`)."""

    @property
    def font(self) -> str: ...
    @property
    def color(self) -> Color: ...
    @property
    def size(self) -> tuple[float, float]: ...
    @property
    def speed(self) -> float: ...
    @property
    def valign(self) -> VAlign: ...


class Run:
    """A line laid out to run through a zone: what each frame of it needs, worked out
    once per scene (kept by the zone in its Paint: Context.kept)."""

    __slots__ = ("_phase", "area", "gap", "indent", "line", "speed", "top")

    def __init__(
        self, area: pygame.Surface, line: Strip, top: int, *, gap: int, indent: int, speed: float
    ) -> None:
        self.area, self.line, self.top = area, line, top
        self.gap, self.indent, self.speed = gap, indent, speed
        self._phase: int | None = None  # where the first copy started when last drawn

    def draw(self, paint: Paint) -> None:
        """The line where it is at `paint.now`."""
        paint.missing_glyphs += self.line.dropped
        start = self.indent - paint.elapsed * self.speed
        self._phase = draw_scrolling(self.area, self.line, start, self.gap, self.top)

    def slide(self, paint: Paint, beneath: Callable[[pygame.Rect], None]) -> bool:
        """Move the line last drawn to where it is at `paint.now` by scrolling the pixels
        in place, and draw only what came into view on the right, over what `beneath`
        restores there (a rect of `paint.surface`). The band shows the line repeating
        every period, so any shift of it is a shift of that pattern: the pixels are those
        `draw` gives, when nothing else painted the area since and what lies beneath it
        is the same all along it (the renderer knows). False when it cannot: nothing
        drawn yet, or the line moved the whole width."""
        last, area = self._phase, self.area
        if last is None:
            return False
        line, period = self.line, self.line.width + max(1, self.gap)
        start = self.indent - paint.elapsed * self.speed
        width = area.get_width()
        moved = (last - (round(start % period) - period)) % period  # leftwards, pixels
        if moved >= width:
            return False
        if moved:
            area.scroll(-moved, 0)
            after = width - moved
            x, y = area.get_offset()
            beneath(pygame.Rect(x + after, y, moved, area.get_height()))
            paint.missing_glyphs += line.dropped
            area.set_clip(pygame.Rect(after, 0, moved, area.get_height()))
            try:  # a chunk begun left of `after` must not blend over itself again
                self._phase = draw_scrolling(area, line, start, self.gap, self.top, after=after)
            finally:
                area.set_clip(None)
        return True


def lay_out(
    paint: Paint, rect: pygame.Rect, text: str, settings: Scrolling, *, gap: int, indent: int
) -> Run | None:
    """`text` laid out to run through `rect`: it starts `indent` pixels in (readable at
    once) and moves left at `settings.speed`. None when `rect` is off the surface."""
    area = paint.area(rect)
    if area is None:
        return None
    kind = paint.face(settings.font)
    size = line_size(kind, rect.height, pixel_sizes(settings.size, rect.height))
    line = strip(text, kind, size, settings.color, not paint.led)
    top = valign_offset(rect.height, line.height, settings.valign)
    return Run(area, line, top, gap=gap, indent=indent, speed=settings.speed)


def run(
    paint: Paint, rect: pygame.Rect, text: str, settings: Scrolling, *, gap: int, indent: int
) -> None:
    """Draw `text` scrolled to where it is at `paint.now`, confined to `rect`."""
    laid = lay_out(paint, rect, text, settings, gap=gap, indent=indent)
    if laid is not None:
        laid.draw(paint)
