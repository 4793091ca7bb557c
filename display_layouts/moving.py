"""What the renderer holds of the frame it drew: enough to repaint only what moves.

A frame's moving zones (tickers, clocks, clips, pulsing bands) are repainted each over
what lies beneath it; the rest of the frame stays as `Renderer.draw` left it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pygame

    from display_layouts.canvas import Canvas
    from display_layouts.paint import Paint
    from display_layouts.text import Color
    from display_layouts.zones.base import Zone


@dataclass
class Moving:
    """An animated zone of the frame on screen."""

    zone: Zone
    rect: pygame.Rect
    due: datetime | None = None  # when it next looks different
    # What lies beneath it is the same all along it (the background, static fills that
    # span it): a scrolling line may then move its pixels in place (Zone.slide).
    uniform: bool = False


@dataclass
class HeldFrame:
    """What `draw` last painted: enough for `animate` to repaint only what moves."""

    key: tuple[object, ...]  # what the static layer depends on (see Renderer._key)
    canvas: Canvas
    surface: int  # id() of the surface painted
    background: Color
    placed: list[tuple[Zone, pygame.Rect]] = field(default_factory=list)  # in paint order
    decorations: list[tuple[Zone, pygame.Rect]] = field(default_factory=list)
    moving: list[Moving] = field(default_factory=list)
    # What the moving zones were last painted with: `step` paints on with it, and what
    # zones kept in it (laid-out text, a cut of the surface) is not worked out per frame.
    paint: Paint | None = None


def uniform_beneath(frame: HeldFrame, item: Moving) -> bool:
    """Whether what lies beneath `item` is the same all along it: every decoration
    under it fills, spans it from side to side and does not change by itself."""
    rect = item.rect
    moving = {id(other.zone) for other in frame.moving}
    return all(
        zone.fills
        and area.left <= rect.left
        and area.right >= rect.right
        and id(zone) not in moving
        for zone, area in frame.decorations
        if area.colliderect(rect)
    )
