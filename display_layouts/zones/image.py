"""`image`: a picture from a slot (a data: URI, or a downloaded {url, sha256} image),
contained in the zone (all of it visible) or covering it (cropped to fill)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field

from display_layouts import templates
from display_layouts.spec import SlotKind
from display_layouts.zones.base import Binding, Zone, zone_type

if TYPE_CHECKING:
    import pygame

    from display_layouts.paint import Context, Paint


def _check_binding(value: str) -> str:
    parts = templates.parse(value)
    if len(parts) != 1 or parts[0][0] or parts[0][1] is None:
        raise ValueError('an image comes from one slot, written like "{image}"')
    if parts[0][1] in templates.BUILTIN_VARIABLES:
        raise ValueError(f"'{parts[0][1]}' is text, not an image slot")
    return value


@zone_type
class ImageZone(Zone):
    type: Literal["image"]
    image: Annotated[str, AfterValidator(_check_binding)] = Field(
        description='The slot holding the picture, e.g. "{image}".'
    )
    fit: Literal["contain", "cover"] = "contain"

    @property
    def slot(self) -> str:
        return templates.variables(self.image)[0]

    def bindings(self) -> tuple[Binding, ...]:
        return (Binding(self.slot, SlotKind.IMAGE),)

    def has_content(self, ctx: Context) -> bool:
        return ctx.images.ready(ctx.fields.get(self.slot))

    def paint(self, paint: Paint, rect: pygame.Rect) -> None:
        paint.blit_image(rect, self.slot, self.fit)
