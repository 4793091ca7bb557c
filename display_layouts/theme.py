"""Colours and proportions shared by the layouts.

Boards are read from across a street, often in sunlight: light text on a dark (never
black: a black board looks switched off) background, one warm accent, and geometry in
proportion to the canvas so one design serves 1920×1080, 1080×1920 and 128×32.
"""

from __future__ import annotations

from dataclasses import dataclass

from display_layouts.text import MIN_FONT_SIZE, Color

BACKGROUND: Color = (12, 22, 36)  # deep navy
PANEL: Color = (24, 40, 62)  # header and caption bands, a step lighter
TEXT: Color = (245, 247, 250)
MUTED: Color = (168, 182, 200)
ACCENT: Color = (255, 184, 28)  # amber: high contrast on navy, classic on LED panels
ON_ACCENT: Color = (16, 20, 28)

ALERT_BACKGROUND: Color = (170, 18, 26)
ALERT_PANEL: Color = (110, 8, 16)
ALERT_STRIPE: Color = (255, 212, 0)  # warning yellow, with ON_ACCENT text

# Below this height antialiased grey edges just blur on LED dots: glyphs are drawn crisp.
LED_HEIGHT = 64
# Below this short side a canvas is a small LED panel: no margins, no decorations, and
# text never smaller than LEGIBLE_SIZE (cut with "…" rather than shrunk to noise).
COMPACT_UNIT = 200
LEGIBLE_SIZE = 8
# Portrait screens are narrow: lines wrap sooner, so their bands get more height.
PORTRAIT_BAND_SCALE = 1.4


@dataclass(frozen=True, slots=True)
class Metrics:
    """Proportional geometry for a canvas of `width` × `height` pixels."""

    width: int
    height: int

    @property
    def unit(self) -> int:
        # The short side: the same design reads the same in landscape and portrait.
        return max(1, min(self.width, self.height))

    @property
    def compact(self) -> bool:
        return self.unit < COMPACT_UNIT

    @property
    def portrait(self) -> bool:
        return self.height > self.width

    @property
    def antialias(self) -> bool:
        return self.height >= LED_HEIGHT

    @property
    def margin(self) -> int:
        return 1 if self.compact else self.px(0.05)

    @property
    def min_size(self) -> int:
        return LEGIBLE_SIZE if self.compact else MIN_FONT_SIZE

    def px(self, fraction: float) -> int:
        """`fraction` of the short side, in whole pixels (at least 1)."""
        return max(1, round(self.unit * fraction))

    def band(self, fraction: float) -> int:
        """Height of a header or footer band: a share of the short side, or on a compact
        canvas a fixed share of the height (a 6-pixel band would hold nothing)."""
        if self.compact:
            return round(self.height * 0.45)
        return self.px(fraction * (PORTRAIT_BAND_SCALE if self.portrait else 1.0))

    def sizes(self, low: float, high: float) -> tuple[int, int]:
        """Font size range as fractions of the short side (never below legible)."""
        return max(self.min_size, round(self.unit * low)), max(
            self.min_size, round(self.unit * high)
        )
