"""Which characters of a text the board's fonts cannot draw.

The renderer leaves such characters out rather than draw boxes; content managers must
hear about it before they publish (`validate`) and the city when it happens (events).
"""

from __future__ import annotations

from display_layouts.fonts import Face, face


def undrawable(text: str) -> str:
    """The distinct characters of `text` that no bundled font has, in order of appearance.

    The LED pixel font is a subset of Noto Sans's characters, so Noto's coverage is the
    board's coverage on every output."""
    regular = face(Face.REGULAR)
    missing: list[str] = []
    for char in text:
        if char not in missing and not char.isspace() and not regular.covers(char):
            missing.append(char)
    return "".join(missing)
