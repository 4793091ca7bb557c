"""`qr`: a QR code of a slot's text (a link to the commune's website, a hotline).

Dark modules on a light square with the standard quiet zone, since phones read nothing
else reliably; each module is a whole number of pixels so the code stays sharp. Too
small a zone for one pixel per module draws nothing rather than an unreadable code.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from display_layouts import templates, theme
from display_layouts.zones.base import Binding, Color, Template, Zone, template_bindings, zone_type

if TYPE_CHECKING:
    import pygame

    from display_layouts.paint import Context, Paint

QUIET_ZONE = 4  # modules of light margin the QR standard asks for


@lru_cache(maxsize=32)
def modules(data: str, error: str) -> tuple[bytes, ...] | None:
    """The code's rows of modules (1: dark), or None if `data` cannot be encoded."""
    import segno  # here, not above: 3 MB that a board without QR codes never needs

    try:
        code = segno.make_qr(data, error=error.lower(), boost_error=False)
    except (segno.DataOverflowError, ValueError):
        return None
    return tuple(bytes(row) for row in code.matrix)


@zone_type
class QrZone(Zone):
    type: Literal["qr"]
    data: Template = Field(description='What the code holds, e.g. "{link}".')
    color: Color = theme.ON_ACCENT
    background: Color = (255, 255, 255)
    error: Literal["L", "M", "Q", "H"] = Field("M", description="Error correction level.")

    def bindings(self) -> tuple[Binding, ...]:
        return template_bindings(self.data)

    def _modules(self, ctx: Context) -> tuple[bytes, ...] | None:
        data = templates.fill(self.data, ctx.variable)
        return None if data is None or not data.strip() else modules(data.strip(), self.error)

    def has_content(self, ctx: Context) -> bool:
        return self._modules(ctx) is not None

    def paint(self, paint: Paint, rect: pygame.Rect) -> None:
        rows = self._modules(paint)
        if rows is not None:
            _draw(paint, rect, rows, (self.color, self.background))


def _draw(
    paint: Paint,
    rect: pygame.Rect,
    rows: tuple[bytes, ...],
    colors: tuple[tuple[int, int, int], tuple[int, int, int]],
) -> None:
    import pygame

    count = len(rows) + 2 * QUIET_ZONE
    scale = min(rect.width, rect.height) // count
    if scale < 1:
        return
    dark, light = colors
    code = pygame.Surface((count, count))
    code.fill(light)
    for y, row in enumerate(rows):
        for x, module in enumerate(row):
            if module:
                code.set_at((x + QUIET_ZONE, y + QUIET_ZONE), dark)
    square = pygame.transform.scale(code, (count * scale, count * scale))  # nearest: crisp
    paint.blit(rect, square, square.get_rect(center=rect.center))
