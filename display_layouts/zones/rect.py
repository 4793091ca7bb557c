"""`rect`: a block of colour (bands, rules, panels) drawn under the zones listed after it.

Its colour may come from a slot (`color_slot`: a palette name such as `risk_4`, what
the agent picks for an alert's risk level), and it may pulse: alternate with another
colour for the first seconds the item is on screen (a new alert's label band). A pulse
never flashes faster than 3 Hz (WCAG 2.3.1, and what photosensitive passers-by need).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from display_layouts.zones.base import (
    Binding,
    Color,
    Name,
    Zone,
    slot_color,
    template_bindings,
    zone_type,
)

if TYPE_CHECKING:
    import pygame

    from display_layouts.paint import Context, Paint

# One cycle (both colours) lasts at least this long: at most 3 flashes a second.
MIN_PULSE_PERIOD_S = 1 / 3


class Pulse(BaseModel):
    """Alternate with `color` for the first `seconds` the item is news (on screen, or
    since its text changed: Scene.noticed)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

    color: Color = Field(description="The colour it alternates with.")
    seconds: float = Field(10.0, gt=0, le=60, description="How long it pulses, from the start.")
    period: float = Field(
        1.0,
        ge=MIN_PULSE_PERIOD_S,
        le=10,
        description="Seconds for one cycle of both colours; 1/3 at least (3 Hz).",
    )

    def half(self) -> float:
        return self.period / 2

    def step(self, ctx: Context) -> int | None:
        """Which half-period the item is in (odd: the pulse colour), None once it is over.
        Half a frame early counts, as for the renderer's due times: a loop waking a hair
        before a flip must draw the new colour, not the old one again."""
        elapsed = (ctx.now - ctx.noticed).total_seconds() + 0.5 / ctx.fps
        if elapsed < 0:
            return 0
        return None if elapsed >= self.seconds else math.floor(elapsed / self.half())


@zone_type
class RectZone(Zone):
    decoration: ClassVar[bool] = True
    fills: ClassVar[bool] = True  # a fill replaces the pixels, whatever its colour

    type: Literal["rect"]
    color: Color
    color_slot: Name | None = Field(
        None, description="A slot naming a palette colour that replaces `color` when filled."
    )
    pulse: Pulse | None = Field(None, description="Alternate colours when the item starts.")

    def bindings(self) -> tuple[Binding, ...]:
        return template_bindings(f"{{{self.color_slot}}}") if self.color_slot else ()

    def color_at(self, ctx: Context) -> Color:
        step = self.pulse.step(ctx) if self.pulse is not None else None
        if self.pulse is not None and step is not None and step % 2 == 1:
            return self.pulse.color
        return slot_color(ctx, self.color_slot, self.color)

    def next_change(self, ctx: Context, rect: pygame.Rect) -> datetime | None:
        if self.pulse is None or (step := self.pulse.step(ctx)) is None:
            return None
        flip = min((step + 1) * self.pulse.half(), self.pulse.seconds)
        return ctx.noticed + timedelta(seconds=flip)

    def paint(self, paint: Paint, rect: pygame.Rect) -> None:
        paint.fill(rect, self.color_at(paint))
