"""`text`: slot text wrapped at word boundaries, auto-fitted between two sizes.

Too long even at the smallest size, it is cut with "…" after `max_lines` (or as many
lines as fit), or, with `overflow: scroll`, it runs sideways on one line instead (the
LED panels' way of showing a long notice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from display_layouts import templates, theme
from display_layouts.plain import clean
from display_layouts.zones.base import (
    Binding,
    Color,
    FontName,
    Name,
    Sizes,
    Template,
    VAlign,
    Zone,
    slot_color,
    template_bindings,
    zone_type,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import pygame

    from display_layouts.paint import Context, Paint
    from display_layouts.scroll import Run
    from display_layouts.text import Align, TextBlock

# How much smaller a `smaller_than` text stays: one step of a type scale (a minor
# third, 1.2), which a reader sees at a glance; a pixel or two would not show.
TYPE_SCALE_STEP = 1.2
# "auto": a short notice centred, a paragraph (more than this many lines) left-aligned,
# as a sign-writer would set it.
_CENTRED_LINES = 2


@zone_type
class TextZone(Zone):
    type: Literal["text"]
    text: Template = Field(description='What to show, e.g. "{title}" or "Hotline: {phone}".')
    default: str | None = Field(None, max_length=500, description="Shown when slots are empty.")
    font: FontName = "regular"
    color: Color = theme.TEXT
    color_slot: Name | None = Field(
        None, description="A slot naming a palette colour that replaces `color` when filled."
    )
    size: Sizes = Field((10.0, 100.0), description="[min, max] percent of the zone's height.")
    align: Literal["left", "center", "right", "auto"] = "left"
    valign: VAlign = "top"
    max_lines: int | None = Field(None, ge=1, le=100)
    overflow: Literal["ellipsis", "scroll"] = "ellipsis"
    speed: float = Field(60.0, gt=0, le=5000, description="Pixels per second when scrolling.")
    smaller_than: Name | None = Field(
        None,
        description="A text zone this one's text stays smaller than (an alert's headline "
        "stays the largest text, whatever the lengths of the texts).",
    )

    def bindings(self) -> tuple[Binding, ...]:
        colored = template_bindings(f"{{{self.color_slot}}}") if self.color_slot else ()
        return template_bindings(self.text) + colored

    def content(self, ctx: Context) -> str | None:
        text = templates.fill(self.text, ctx.variable)
        if text is None or not clean(text).strip():
            text = self.default
        return text if text is not None and clean(text).strip() else None

    def has_content(self, ctx: Context) -> bool:
        return self.content(ctx) is not None

    def next_change(self, ctx: Context, rect: pygame.Rect) -> datetime | None:
        if ctx.kept(self, rect, lambda: self._scrolls(ctx, rect), "scrolls"):
            return ctx.now + timedelta(seconds=1 / ctx.fps)
        return None

    def paint(self, paint: Paint, rect: pygame.Rect) -> None:
        # Fitted (or laid out to scroll) once per scene: a scrolling frame only moves it.
        plan = paint.kept(self, rect, lambda: self._plan(paint, rect))
        if plan is not None:
            plan.draw(paint)

    def slide(
        self, paint: Paint, rect: pygame.Rect, beneath: Callable[[pygame.Rect], None]
    ) -> bool:
        plan = paint.kept(self, rect, lambda: self._plan(paint, rect))
        return plan is not None and plan.slide(paint, beneath)

    def _plan(self, paint: Paint, rect: pygame.Rect) -> _Still | Run | None:
        text = self.content(paint)
        if text is None:
            return None
        block = self._block(paint, rect, text)
        color = slot_color(paint, self.color_slot, self.color)
        if self.overflow == "scroll" and block.truncated:
            from display_layouts.scroll import lay_out

            shown = self if color == self.color else self.model_copy(update={"color": color})
            # Starts at the zone's left edge: the beginning of the notice is read first.
            return lay_out(paint, rect, text, shown, gap=rect.width // 3, indent=0)
        align = self.align
        if align == "auto":
            align = "center" if len(block.lines) <= _CENTRED_LINES else "left"
        return _Still(rect, block, color, align, self.valign)

    def font_size(self, ctx: Context, rect: pygame.Rect) -> int | None:
        """The size, in pixels, the text is drawn at in `rect` (None: nothing to draw)."""
        text = self.content(ctx)
        return None if text is None else self._block(ctx, rect, text).size

    def below(self, size: int, rect: pygame.Rect) -> TextZone:
        """This zone with its sizes capped a step under `size` pixels (`smaller_than`)."""
        if rect.height <= 0:
            return self
        ceiling_px = max(1, min(size - 1, math.floor(size / TYPE_SCALE_STEP)))
        # Percent of the zone's height, a hair under so that pixel_sizes rounds back to
        # ceiling_px and not one above it.
        ceiling = max(1e-6, ceiling_px * 100 / rect.height - 1e-6)
        low, high = self.size
        return self.model_copy(update={"size": (min(low, ceiling), min(high, ceiling))})

    def _block(self, ctx: Context, rect: pygame.Rect, text: str) -> TextBlock:
        from display_layouts.paint import pixel_sizes

        sizes = pixel_sizes(self.size, rect.height)
        return ctx.fit(rect, text, ctx.face(self.font), sizes, self.max_lines)

    def _scrolls(self, ctx: Context, rect: pygame.Rect) -> bool:
        text = self.content(ctx)
        if self.overflow != "scroll" or text is None:
            return False
        return self._block(ctx, rect, text).truncated


@dataclass(frozen=True, slots=True)
class _Still:
    """A fitted block, as a text zone that does not scroll draws it."""

    rect: pygame.Rect
    block: TextBlock
    color: Color
    align: Align
    valign: VAlign

    def draw(self, paint: Paint) -> None:
        paint.text(self.rect, self.block, self.color, self.align, self.valign)

    def slide(self, _paint: Paint, _beneath: Callable[[pygame.Rect], None]) -> bool:
        return False  # it does not move


Placed = list[tuple[Zone, "pygame.Rect"]]


def kept_smaller(placed: Placed, ctx: Context) -> Placed:
    """The placed zones, each text zone with `smaller_than` capped under the size its
    zone's text is drawn at (no cap when that zone shows nothing here)."""
    rects = {zone.name: (zone, rect) for zone, rect in placed}

    def capped(zone: Zone, rect: pygame.Rect) -> Zone:
        if not isinstance(zone, TextZone) or zone.smaller_than not in rects:
            return zone
        larger, area = rects[zone.smaller_than]
        size = larger.font_size(ctx, area) if isinstance(larger, TextZone) else None
        return zone if size is None else zone.below(size, rect)

    return [(capped(zone, rect), rect) for zone, rect in placed]
