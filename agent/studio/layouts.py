"""The layouts a studio offers: the built-in ones and, with --layouts-dir, that folder's
(taken as a board with that `[display] layouts_dir` takes them: a bad file is left out
and reported, never fatal), described for the page's form."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from display_layouts.library import LayoutLibrary, SkippedFile, builtin_library, scan_library

if TYPE_CHECKING:
    from display_layouts.layout import Layout

from agent.studio.sizes import STUDIO_SIZES


@dataclass(frozen=True)
class Scan:
    library: LayoutLibrary
    skipped: tuple[SkippedFile, ...]


class StudioLayouts:
    """The library as the folder is now: scanned again when a file in it changed (a
    content manager edits a layout file and reloads the page)."""

    def __init__(self, layouts_dir: Path | None) -> None:
        self.layouts_dir = layouts_dir
        self._lock = threading.Lock()
        self._seen: object = None
        self._scan = Scan(builtin_library(), ())

    def current(self) -> Scan:
        if self.layouts_dir is None:
            return self._scan
        with self._lock:
            seen = _folder_state(self.layouts_dir)
            if seen != self._seen:
                found = scan_library(self.layouts_dir)
                self._scan, self._seen = Scan(found.library, found.skipped), seen
            return self._scan


def _folder_state(folder: Path) -> object:
    """What changes when a file of the folder is saved, added or removed."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        return ("unreadable", str(exc))
    state = []
    for entry in entries:
        try:
            stat = entry.stat()
        except OSError:
            continue
        state.append((entry.name, stat.st_mtime_ns, stat.st_size))
    return tuple(state)


def describe(layout: Layout) -> dict[str, Any]:
    """A layout as the page builds its form from it (STUDIO_API.md /api/layouts)."""
    from display_layouts.zones.qr import QrZone
    from display_layouts.zones.text import TextZone
    from display_layouts.zones.ticker import TickerZone

    qr: set[str] = set()
    multiline: set[str] = set()
    animated = False
    for arrangement in layout.arrangements():
        for zone in arrangement.zones:
            names = {binding.slot for binding in zone.bindings()}
            if isinstance(zone, QrZone):
                qr |= names
            if isinstance(zone, TextZone) and zone.max_lines != 1:
                multiline |= names
            if isinstance(zone, TickerZone) or (
                isinstance(zone, TextZone) and zone.overflow == "scroll"
            ):
                animated = True
    builtin = builtin_library().get(layout.name) is layout
    return {
        "name": layout.name,
        "purpose": layout.purpose,
        "source": "built-in" if builtin else "file",
        "slots": [
            {
                "name": slot.name,
                "kind": slot.kind.value,
                "required": slot.required,
                "qr": slot.name in qr,
                "multiline": slot.name in multiline,
            }
            for slot in layout.spec.slots
        ],
        "sizes": [size.as_json() for size in STUDIO_SIZES],
        "animated": animated,
    }


def listed(scan: Scan) -> list[dict[str, Any]]:
    """Every layout a playlist item may name, by name (reserved ones are the agent's)."""
    layouts = scan.library.layouts
    return [describe(layouts[name]) for name in scan.library.names if not layouts[name].reserved]
