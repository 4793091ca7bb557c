"""`ticker`: one line running right to left, repeating, at `speed` pixels per second."""

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
    from collections.abc import Callable

    import pygame

    from display_layouts.paint import Context, Paint
    from display_layouts.scroll import Run


@zone_type
class TickerZone(Zone):
    type: Literal["ticker"]
    text: Template = Field(description='What runs, e.g. "{ticker}".')
    font: FontName = "bold"
    color: Color = theme.TEXT
    size: Sizes = Field((40.0, 75.0), description="[min, max] percent of the zone's height.")
    valign: VAlign = "middle"
    speed: float = Field(120.0, gt=0, le=5000, description="Pixels per second.")
    gap: float = Field(30.0, ge=0, le=100, description="Space between repeats, % of width.")
    indent: float = Field(3.0, ge=0, le=100, description="Where the text starts, % of width.")

    def bindings(self) -> tuple[Binding, ...]:
        return template_bindings(self.text)

    def content(self, ctx: Context) -> str | None:
        text = templates.fill(self.text, ctx.variable)
        return text if text is not None and clean(text).strip() else None

    def has_content(self, ctx: Context) -> bool:
        return self.content(ctx) is not None

    def next_change(self, ctx: Context, rect: pygame.Rect) -> datetime | None:
        return ctx.now + timedelta(seconds=1 / ctx.fps)

    def paint(self, paint: Paint, rect: pygame.Rect) -> None:
        # Laid out once per scene: a frame only moves the line (issue 18).
        laid = paint.kept(self, rect, lambda: self._lay_out(paint, rect))
        if laid is not None:
            laid.draw(paint)

    def slide(
        self, paint: Paint, rect: pygame.Rect, beneath: Callable[[pygame.Rect], None]
    ) -> bool:
        laid = paint.kept(self, rect, lambda: self._lay_out(paint, rect))
        return laid is not None and laid.slide(paint, beneath)

    def _lay_out(self, paint: Paint, rect: pygame.Rect) -> Run | None:
        from display_layouts.scroll import lay_out

        text = self.content(paint)
        if text is None:
            return None
        gap, indent = (round(rect.width * share / 100) for share in (self.gap, self.indent))
        return lay_out(paint, rect, text, self, gap=gap, indent=indent)
