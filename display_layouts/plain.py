"""Text as it arrives (any Unicode, any line breaks) made plain for drawing.

Kept apart from text.py so that layout validation can use it without pygame.
"""

from __future__ import annotations

import unicodedata

# C0/C1 control characters that survive line splitting; none of them draws anything.
_CONTROLS = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)])


def clean(text: str) -> str:
    """NFC, every Unicode line break as '\\n', tabs as spaces, no control characters.

    Input is normalised upstream too; doing it again here is cheap and means decomposed
    text (NFD: "a" + U+0302 + U+0309) can never reach freetype, which does not compose.
    """
    text = unicodedata.normalize("NFC", text)
    # splitlines() knows \r\n, \r, \v, \f, U+0085, U+2028, U+2029 as well as \n.
    lines = (line.replace("\t", " ").translate(_CONTROLS) for line in text.splitlines())
    return "\n".join(lines)
