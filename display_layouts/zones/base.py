"""What every zone has, the field types zones share, and the registry of zone types.

A zone type is one module in this package: a pydantic model of its settings (beside the
code that paints it) decorated with `@zone_type`. The loader finds the modules by
convention, so adding a type touches no list anywhere else.

Nothing here imports pygame at module level: validating a layout file (`signage-agent
validate`) needs only the models.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from display_layouts import templates, theme
from display_layouts.input_problems import did_you_mean, named_pattern
from display_layouts.spec import SlotKind

if TYPE_CHECKING:
    from collections.abc import Callable

    import pygame

    from display_layouts.paint import Context, Paint

Name = Annotated[
    str,
    Field(
        pattern=named_pattern(
            r"^[a-z][a-z0-9_]{0,31}$",
            "a name: a lower-case letter, then lower-case letters, digits or '_' (32 at most)",
        )
    ),
]
Template = Annotated[str, Field(max_length=2000), AfterValidator(templates.check)]
FontName = Literal["regular", "bold"]
Align = Literal["left", "center", "right"]
VAlign = Literal["top", "middle", "bottom"]
# Edges may sit a hair past 100 after float arithmetic (33.3 + 66.7).
_EPSILON = 1e-6


def _check_box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x, y, width, height = box
    if x < 0 or y < 0:
        raise ValueError("x and y are percent of the canvas, from 0 to 100")
    if width <= 0 or height <= 0:
        raise ValueError("width and height must be more than 0")
    if x + width > 100 + _EPSILON:
        raise ValueError(f"x + width is {x + width:g}: the zone would pass the right edge (100)")
    if y + height > 100 + _EPSILON:
        raise ValueError(f"y + height is {y + height:g}: the zone would pass the bottom (100)")
    return box


# [x, y, width, height] in percent of the canvas: one layout serves every screen size.
Box = Annotated[tuple[float, float, float, float], AfterValidator(_check_box)]


def parse_color(value: object) -> object:
    if not isinstance(value, str):
        return value  # pydantic explains what a colour should be
    if value in theme.PALETTE:
        return theme.PALETTE[value]
    digits = value.removeprefix("#")
    if value.startswith("#") and len(digits) == 6:
        try:
            return tuple(int(digits[i : i + 2], 16) for i in (0, 2, 4))
        except ValueError:
            pass
    hint = did_you_mean(value, theme.PALETTE) or f"; the palette has {', '.join(theme.PALETTE)}"
    raise ValueError(f"unknown colour '{value}': use #rrggbb or a palette name{hint}")


_Channel = Annotated[int, Field(ge=0, le=255)]
Color = Annotated[tuple[_Channel, _Channel, _Channel], BeforeValidator(parse_color)]


def _check_sizes(sizes: tuple[float, float]) -> tuple[float, float]:
    low, high = sizes
    if not 1 <= low <= high <= 100:
        raise ValueError("[min, max] in percent of the zone's height, 1 ≤ min ≤ max ≤ 100")
    return sizes


# Font size bounds, in percent of the zone's height: auto-fit picks the largest that fits.
Sizes = Annotated[tuple[float, float], AfterValidator(_check_sizes)]


def _check_padding(padding: float | tuple[float, float]) -> float | tuple[float, float]:
    values = padding if isinstance(padding, tuple) else (padding,)
    if not all(0 <= value <= 25 for value in values):
        raise ValueError("padding is 0 to 25 percent of the canvas's short side")
    return padding


Padding = Annotated[float | tuple[float, float], AfterValidator(_check_padding)]


@dataclass(frozen=True, slots=True)
class Binding:
    """A slot a zone shows."""

    slot: str
    kind: SlotKind


class Zone(BaseModel):
    """The settings every zone type has."""

    # No NaN or infinity: they pass range checks (`nan < 0` is false) and crash drawing.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

    kind: ClassVar[str]  # the `type:` value, taken from the subclass's Literal
    # Decorations (rect) are backdrops: they may lie under other zones, never over them,
    # and they draw with fills and blits only, which the renderer can clip when it
    # repaints what lies under an animated zone.
    decoration: ClassVar[bool] = False
    # Its paint sets every pixel of its rect (a fill): what lies under it need not be
    # restored before it is repainted.
    fills: ClassVar[bool] = False

    name: Name = Field(description="Unique within the layout; variants refer to it.")
    type: str
    box: Box = Field(description="[x, y, width, height] in percent of the canvas.")
    hidden: bool = Field(False, description="Not drawn (a variant may show it).")
    optional: bool = Field(False, description="Its slots may be left empty.")
    when_filled: tuple[Name, ...] = Field((), description="Drawn only when these slots are.")
    takes_room_of: tuple[Name, ...] = Field(
        (), description="Zones whose room this one takes when they draw nothing."
    )
    padding: Padding = Field(
        0.0, description="Inset, percent of the short side: one number, or [vertical, horizontal]."
    )

    @property
    def insets(self) -> tuple[float, float]:
        """(vertical, horizontal) padding."""
        if isinstance(self.padding, tuple):
            return self.padding
        return self.padding, self.padding

    def bindings(self) -> tuple[Binding, ...]:
        """The slots this zone shows."""
        return ()

    def has_content(self, ctx: Context) -> bool:
        """Whether the zone draws anything for this scene (empty zones give their room)."""
        return True

    def next_change(self, ctx: Context, rect: pygame.Rect) -> datetime | None:
        """When the zone looks different by itself (a clock, a scroll); None: never."""
        return None

    def paint(self, paint: Paint, rect: pygame.Rect) -> None:
        raise NotImplementedError

    def slide(
        self, paint: Paint, rect: pygame.Rect, beneath: Callable[[pygame.Rect], None]
    ) -> bool:
        """Move what the zone last painted in `rect` on to `paint.now` in place, painting
        only what came into view, over what `beneath` restores there (a scrolling line:
        a frame is then the band's pixels moved, not the band painted). False when it
        does not: the renderer restores beneath the whole zone and paints it."""
        return False


RGB = tuple[int, int, int]


def slot_color(ctx: Context, slot: str | None, default: RGB) -> RGB:
    """The palette colour a slot names (`risk_4`), or `default` when it names none."""
    name = ctx.variable(slot) if slot is not None else None
    return theme.PALETTE.get(name, default) if name is not None else default


def template_bindings(template: str, kind: SlotKind = SlotKind.TEXT) -> tuple[Binding, ...]:
    return tuple(Binding(slot, kind) for slot in templates.slots(template))


ZONE_TYPES: dict[str, type[Zone]] = {}

Z = TypeVar("Z", bound=type[Zone])


def zone_type(cls: Z) -> Z:
    """Register a zone type under the value of its `type: Literal[...]` field."""
    model: type[Zone] = cls
    annotation: Any = model.model_fields["type"].annotation
    (kind,) = typing.get_args(annotation)
    cls.kind = kind
    ZONE_TYPES[kind] = cls
    return cls
