"""The shape of a layout file (YAML), as pydantic models.

Zones are kept as raw mappings here and validated one by one by the loader against
their own type's model: an error then names the zone, and an unknown `type:` gets a
"did you mean" instead of a wall of union-member errors.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from display_layouts import theme
from display_layouts.canvas import Canvas, Orientation, Panel
from display_layouts.input_problems import named_pattern
from display_layouts.zones.base import parse_color

MAX_ZONES = 64
MAX_VARIANTS = 8
LAYOUT_NAME_WORDS = "a name: a lower-case letter, then lower-case letters, digits or '_'"
# Also what a layout topic's last level must be (agent/remote_layouts.py): a file name.
LAYOUT_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,47}$"
LayoutName = Annotated[
    str,
    Field(pattern=named_pattern(LAYOUT_NAME_PATTERN, f"{LAYOUT_NAME_WORDS} (48 at most)")),
]


def _parse_background(value: object) -> object:
    return None if value == "transparent" else parse_color(value)


# A colour, or "transparent" (None): drawn over what the board already shows.
_Channel = Annotated[int, Field(ge=0, le=255)]
Background = Annotated[
    tuple[_Channel, _Channel, _Channel] | None, BeforeValidator(_parse_background)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


class When(Strict):
    """Which canvases a variant is for; every condition given must hold."""

    orientation: Orientation | None = None
    panel: Panel | None = Field(
        None, description=f"led: an LED panel (short side under {theme.LED_UNIT} pixels)."
    )
    min_width: int | None = Field(None, ge=1, le=16384)
    max_width: int | None = Field(None, ge=1, le=16384)
    min_height: int | None = Field(None, ge=1, le=16384)
    max_height: int | None = Field(None, ge=1, le=16384)

    @model_validator(mode="after")
    def _says_something(self) -> When:
        if not self.model_fields_set:
            raise ValueError("give at least one condition (orientation, panel, min_width, …)")
        return self

    def matches(self, canvas: Canvas) -> bool:
        width, height = canvas.size
        checks = (
            self.orientation is None or self.orientation == canvas.orientation,
            self.panel is None or self.panel == canvas.panel,
            self.min_width is None or width >= self.min_width,
            self.max_width is None or width <= self.max_width,
            self.min_height is None or height >= self.min_height,
            self.max_height is None or height <= self.max_height,
        )
        return all(checks)


class VariantFile(Strict):
    when: When
    background: Background = Field(None, description="Replaces the layout's background.")
    zones: dict[str, dict[str, Any]] = Field(
        default_factory=dict, max_length=MAX_ZONES, description="Per-zone changes, by name."
    )


class LayoutFile(Strict):
    name: LayoutName = Field(description="The name playlists use; the file's name too.")
    purpose: str = Field(min_length=1, max_length=300, description="What it is for, one line.")
    reserved: bool = Field(False, description="For the agent's own use (alerts, idle).")
    override: bool = Field(False, description="Replaces the built-in layout of this name.")
    background: Background = theme.BACKGROUND
    # Each zone is checked by its own type's model (see loader._zone).
    zones: list[Any] = Field(min_length=1, max_length=MAX_ZONES)
    variants: list[VariantFile] = Field(default_factory=list, max_length=MAX_VARIANTS)
