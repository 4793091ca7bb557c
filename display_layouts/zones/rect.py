"""`rect`: a block of colour (bands, rules, panels) drawn under the zones listed after it."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from display_layouts.zones.base import Color, Zone, zone_type

if TYPE_CHECKING:
    import pygame

    from display_layouts.paint import Paint


@zone_type
class RectZone(Zone):
    decoration: ClassVar[bool] = True

    type: Literal["rect"]
    color: Color

    def paint(self, paint: Paint, rect: pygame.Rect) -> None:
        paint.fill(rect, self.color)
