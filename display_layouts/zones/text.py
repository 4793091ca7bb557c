"""`text`: slot text wrapped at word boundaries, auto-fitted between two sizes.

Too long even at the smallest size, it is cut with "…" after `max_lines` (or as many
lines as fit), or, with `overflow: scroll`, it runs sideways on one line instead (the
LED panels' way of showing a long notice).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from display_layouts import templates, theme
from display_layouts.plain import clean
from display_layouts.zones.base import (
    Binding,
    Color,
    FontName,
    Sizes,
    Template,
    VAlign,
    Zone,
    template_bindings,
    zone_type,
)

if TYPE_CHECKING:
    import pygame

    from display_layouts.paint import Context, Paint
    from display_layouts.text import TextBlock

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
    size: Sizes = Field((10.0, 100.0), description="[min, max] percent of the zone's height.")
    align: Literal["left", "center", "right", "auto"] = "left"
    valign: VAlign = "top"
    max_lines: int | None = Field(None, ge=1, le=100)
    overflow: Literal["ellipsis", "scroll"] = "ellipsis"
    speed: float = Field(60.0, gt=0, le=5000, description="Pixels per second when scrolling.")

    def bindings(self) -> tuple[Binding, ...]:
        return template_bindings(self.text)

    def content(self, ctx: Context) -> str | None:
        text = templates.fill(self.text, ctx.variable)
        if text is None or not clean(text).strip():
            text = self.default
        return text if text is not None and clean(text).strip() else None

    def has_content(self, ctx: Context) -> bool:
        return self.content(ctx) is not None

    def next_change(self, ctx: Context, rect: pygame.Rect) -> datetime | None:
        if self._scrolls(ctx, rect):
            return ctx.now + timedelta(seconds=1 / ctx.fps)
        return None

    def paint(self, paint: Paint, rect: pygame.Rect) -> None:
        text = self.content(paint)
        if text is None:
            return
        block = self._block(paint, rect, text)
        if self.overflow == "scroll" and block.truncated:
            self._scroll(paint, rect, text)
            return
        align = self.align
        if align == "auto":
            align = "center" if len(block.lines) <= _CENTRED_LINES else "left"
        paint.text(rect, block, self.color, align, self.valign)

    def _block(self, ctx: Context, rect: pygame.Rect, text: str) -> TextBlock:
        from display_layouts.paint import pixel_sizes

        sizes = pixel_sizes(self.size, rect.height)
        return ctx.fit(rect, text, ctx.face(self.font), sizes, self.max_lines)

    def _scrolls(self, ctx: Context, rect: pygame.Rect) -> bool:
        text = self.content(ctx)
        if self.overflow != "scroll" or text is None:
            return False
        return self._block(ctx, rect, text).truncated

    def _scroll(self, paint: Paint, rect: pygame.Rect, text: str) -> None:
        from display_layouts.scroll import run

        # Starts at the zone's left edge: the beginning of the notice is read first.
        run(paint, rect, text, self, gap=rect.width // 3, indent=0)
