"""What a layout is drawn on: its size, and whether it is an LED panel.

Below the layout files' models and the painting code alike: both ask which canvas they
are for (a variant's `when`, a zone's font), and neither may import the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from display_layouts import theme

Panel = Literal["led", "lcd"]
Orientation = Literal["landscape", "portrait"]


@dataclass(frozen=True, slots=True)
class Canvas:
    """What is drawn on: its size, and whether it is an LED panel."""

    size: tuple[int, int]
    led: bool

    @classmethod
    def of(cls, size: tuple[int, int], panel: Panel | None = None) -> Canvas:
        """`panel` as told, or guessed from the size (LED panels are small)."""
        led = min(size) < theme.LED_UNIT if panel is None else panel == "led"
        return cls(size, led)

    @property
    def panel(self) -> Panel:
        return "led" if self.led else "lcd"

    @property
    def orientation(self) -> Orientation:
        return "portrait" if self.size[1] > self.size[0] else "landscape"
