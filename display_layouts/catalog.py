"""The layouts and their slots (CONTRACT §4), as validation and the core use them.

This is the one list that validation, rendering and documentation agree on: a playlist
item names a layout from here and fills its slots. The slots are derived from the layout
files' {slot} bindings (see library.py), so they cannot drift from what is drawn.
"""

from __future__ import annotations

from display_layouts.library import LayoutLibrary, builtin_library, load_library
from display_layouts.problems import LayoutError
from display_layouts.spec import LayoutSpec, Slot, SlotKind

BUILTIN_LAYOUTS: dict[str, LayoutSpec] = builtin_library().specs

__all__ = [
    "BUILTIN_LAYOUTS",
    "LayoutError",
    "LayoutLibrary",
    "LayoutSpec",
    "Slot",
    "SlotKind",
    "load_library",
]
