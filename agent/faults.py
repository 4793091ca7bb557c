"""What cannot be drawn: a part of the frame that failed is reported once, and the frame
is drawn again without it — the item is skipped (the rotation moves on), or a reserved
layout falls back to its built-in version (an alert is never lost)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from agent.acceptance import ContentDesk
from agent.alert_desk import AlertDesk
from agent.events import Events
from agent.messages import Channel, Playlist
from agent.playback import Playback, Showing
from agent.screen import DrawFault, Frame, Screen

# Redraws after a fault within one tick: each skips one more item or falls back to a
# built-in layout, so a few always end on something drawable (idle at worst).
MAX_FAULT_REDRAWS = 8


class FaultRecovery:
    def __init__(
        self,
        events: Events,
        *,
        screen: Screen,
        playback: Playback,
        alerts: AlertDesk,
        content: ContentDesk,
        frame: Callable[[datetime], Frame],
    ) -> None:
        self.events = events
        self.screen = screen
        self.playback = playback
        self.alerts = alerts
        self.content = content
        self.frame = frame

    def recover(
        self, now: datetime, started: Showing | None, playlists: Mapping[Channel, Playlist]
    ) -> Showing | None:
        """Draw again until nothing more fails (bounded). Returns the slot that started,
        for proof of play: not the skipped one."""
        screen = self.screen
        for _ in range(MAX_FAULT_REDRAWS):
            # One fault per part: a part that failed once per step of drawing it (layout,
            # band, schedule) failed once.
            faults = {fault.part: fault for fault in reversed(screen.take_faults())}
            changed = [self._on_fault(fault) for fault in faults.values()]
            if not any(changed):
                break
            if self.alerts.rotation.full is None:
                showing = self.playback.update(now, playlists)
                if showing is not None:
                    started = showing
            screen.show(self.frame(now))
        screen.take_faults()  # reported above, or past the bound: the board goes on
        if (
            started is not None
            and started.entry is not None
            and not self.content.may_show(started.entry.item)
        ):
            return None
        return started

    def _on_fault(self, fault: DrawFault) -> bool:
        """Act on one fault, reporting it once; True when the frame must be drawn again."""
        rotation = self.alerts.rotation
        showing = self.playback.showing
        drawable = self.content.drawable
        if fault.part == "banner" and rotation.banner is not None:
            subject = f"alert {rotation.banner.alert.id}"
        elif fault.part == "base" and rotation.full is not None:
            subject = f"alert {rotation.full.alert.id}"
        elif fault.part == "base" and showing is not None and showing.entry is not None:
            message = drawable.item_failed(showing.entry, fault)
            if message is not None:
                self.events.display_error(message)
            return message is not None
        else:
            subject = "idle"
        told, redraw = drawable.reserved_failed(subject, fault, self.content.library)
        if told is not None:
            self.events.display_error(told)
        return redraw
