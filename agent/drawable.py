"""What the board can draw: the items playback may put on screen, and what to do when a
frame fails to draw.

Two kinds of item are left out of the rotation, each by its exact version (a new version
of an item is tried again):

- items that no longer fit the layouts in use (held content checked again at start-up
  and after every layout change: the layout is gone, a slot is missing), reported with
  one content.warning per channel;
- items whose frame failed to draw (a bug in a zone type, a value that got past the
  checks), reported with one display.error each — not one per frame.

A reserved layout (alerts, idle) is never left out: when a board's replacement of it
fails, the built-in layout of that name is drawn instead, so an alert is never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from agent.content import check_playlist
from agent.messages import Channel, ContentWarning, ErrorDetail, Playlist, PlaylistItem
from agent.playback import Entry
from agent.screen import DrawFault
from display_layouts.library import LayoutLibrary, builtin_library
from display_layouts.spec import LayoutSpec

log = logging.getLogger(__name__)

RESERVED_LAYOUTS = ("alert_full", "alert_banner", "idle")


class LeftOut:
    """Item versions, by id (an id may stand for different items in two channels)."""

    def __init__(self) -> None:
        self._by_id: dict[str, list[PlaylistItem]] = {}

    def add(self, item: PlaylistItem) -> None:
        versions = self._by_id.setdefault(item.id, [])
        if item not in versions:
            versions.append(item)

    def __contains__(self, item: PlaylistItem) -> bool:
        return item in self._by_id.get(item.id, ())

    def __bool__(self) -> bool:
        return bool(self._by_id)

    def clear(self) -> None:
        self._by_id.clear()


class Drawable:
    def __init__(self) -> None:
        self.unshowable = LeftOut()  # their frame failed to draw
        self.unfit = LeftOut()  # they no longer fit the layouts
        self.use_builtin: set[str] = set()  # reserved layouts whose replacement failed
        self._told: set[tuple[str, str]] = set()  # (layout, subject) faults reported

    def allows(self, item: PlaylistItem) -> bool:
        """Playback's predicate (with the assets'): called for every item at every turn
        of the loop, so it costs nothing while nothing is left out."""
        if self.unshowable and item in self.unshowable:
            return False
        return not (self.unfit and item in self.unfit)

    def layouts_changed(self) -> None:
        """After a reload: what failed to draw may draw now (the caller re-checks fit)."""
        self.unshowable.clear()
        self.use_builtin.clear()
        self._told.clear()

    def recheck(
        self, playlists: Mapping[Channel, Playlist], specs: Mapping[str, LayoutSpec], at: datetime
    ) -> list[ContentWarning]:
        """Held content against the layouts in use: the items that no longer fit are left
        out; one content.warning per channel names each of them and why."""
        unfit = LeftOut()
        warnings = []
        for channel, playlist in playlists.items():
            found: list[ErrorDetail] = []
            try:
                errors = check_playlist(playlist, specs)
            except Exception:  # a bug in a check must not stop the board: shown as before
                log.exception("checking the held %s content failed", channel)
                continue
            for error in errors:
                head, _, rest = error.path.partition(".")
                index, _, _ = rest.partition(".")
                if head != "items" or not index.isdigit() or int(index) >= len(playlist.items):
                    continue
                item = playlist.items[int(index)]
                unfit.add(item)
                message = f"item {item.id} is not shown: {error.message}"
                found.append(ErrorDetail(path=error.path, message=message))
            if found:
                warnings.append(ContentWarning(at=at, channel=channel, warnings=found))
        self.unfit = unfit
        return warnings

    def item_failed(self, entry: Entry, fault: DrawFault) -> str | None:
        """Leave the item out; the display.error to send, or None if it already was."""
        item = entry.item
        if item in self.unshowable:
            return None
        self.unshowable.add(item)
        return (
            f"item {item.id} ({entry.channel}) cannot be drawn with layout {item.layout}: "
            f"{fault.message}; skipped until its content changes"
        )

    def reserved_failed(
        self, subject: str, fault: DrawFault, library: LayoutLibrary
    ) -> tuple[str | None, bool]:
        """An alert or idle frame failed: the display.error to send (None: already sent),
        and whether to draw again (with the built-in layout)."""
        name = fault.layout
        layout = library.get(name)
        replaced = layout is not builtin_library().get(name)
        if name in RESERVED_LAYOUTS and replaced and name not in self.use_builtin:
            self.use_builtin.add(name)
            source = layout.source if layout is not None else name
            message = (
                f"{subject}: layout {name} ({source}) cannot be drawn: {fault.message}; "
                f"showing the built-in {name}"
            )
            return message, True
        if (name, subject) in self._told:
            return None, False
        self._told.add((name, subject))
        message = (
            f"{subject}: layout {name} cannot be drawn whole: {fault.message}; "
            "showing what could be drawn"
        )
        return message, False
