"""The palette layouts name their colours from.

Boards are read from across a street, often in sunlight: light text on a dark (never
black: a black board looks switched off) background and one warm accent. Layout files
say `color: accent` rather than a hex code so every layout stays in one family.
"""

from __future__ import annotations

Color = tuple[int, int, int]

BACKGROUND: Color = (12, 22, 36)  # deep navy
PANEL: Color = (24, 40, 62)  # header and caption bands, a step lighter
TEXT: Color = (245, 247, 250)
MUTED: Color = (168, 182, 200)
ACCENT: Color = (255, 184, 28)  # amber: high contrast on navy, classic on LED panels
ON_ACCENT: Color = (16, 20, 28)

ALERT_BACKGROUND: Color = (170, 18, 26)
ALERT_PANEL: Color = (110, 8, 16)
ALERT_STRIPE: Color = (255, 212, 0)  # warning yellow, with ON_ACCENT text

# Vietnam's disaster risk levels (cấp độ rủi ro thiên tai, Decision 18/2021/QĐ-TTg):
# 1 light blue, 2 light yellow, 3 orange, 4 red, 5 purple. Level 4's red is brighter
# than ALERT_BACKGROUND, and alert layouts frame the band in ink, so it stands apart.
RISK_COLORS: dict[int, Color] = {
    1: (120, 200, 255),
    2: (255, 240, 130),
    3: (255, 140, 0),
    4: (220, 20, 30),
    5: (128, 40, 160),
}

PALETTE: dict[str, Color] = {
    "navy": BACKGROUND,
    "panel": PANEL,
    "white": TEXT,
    "muted": MUTED,
    "accent": ACCENT,
    "ink": ON_ACCENT,
    "alert_red": ALERT_BACKGROUND,
    "alert_dark": ALERT_PANEL,
    "alert_yellow": ALERT_STRIPE,
    "black": (0, 0, 0),
    "pure_white": (255, 255, 255),
} | {f"risk_{level}": color for level, color in RISK_COLORS.items()}

# The text colour on each risk band, by palette name: whichever of ink and white
# reads better on it (contrast ratio at least 4.5:1, WCAG AA; see tests).
RISK_INK: dict[int, str] = {1: "ink", 2: "ink", 3: "ink", 4: "pure_white", 5: "pure_white"}


def risk_band(level: int) -> tuple[str, str]:
    """(band colour, text colour) palette names for a risk level 1-5."""
    return f"risk_{level}", RISK_INK[level]


# Below this short side a canvas is taken for an LED panel (64×32 … 256×128): text in
# the pixel font, never grey antialiased edges (they blur on LED dots). Small LCDs
# (320×240) stay above it; the renderer can also be told which one it draws for.
LED_UNIT = 160
