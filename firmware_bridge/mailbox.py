"""Between the render thread and the writer thread: only the newest of each thing.

Frames can come faster than the line carries them; a queue would turn that into
seconds of lag. The mailbox holds one content (a frame or a text) and one brightness,
each with a version; the writer takes whatever is newest when the line is free, and
everything in it again after a reconnection.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from firmware_bridge.protocols.base import Content


@dataclass(frozen=True, slots=True)
class Wanted:
    """What the panel should show now; versions grow by one per change."""

    content: Content | None = None
    content_version: int = 0
    brightness: int | None = None
    brightness_version: int = 0

    def newer_than(self, shown: Wanted | None) -> bool:
        if shown is None:
            return self.content_version > 0 or self.brightness_version > 0
        return (
            self.content_version != shown.content_version
            or self.brightness_version != shown.brightness_version
        )


class Mailbox:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._wanted = Wanted()
        self.closed = False

    def put_content(self, content: Content) -> None:
        with self._changed:
            wanted = self._wanted
            self._wanted = Wanted(
                content, wanted.content_version + 1, wanted.brightness, wanted.brightness_version
            )
            self._changed.notify_all()

    def put_brightness(self, percent: int) -> None:
        with self._changed:
            wanted = self._wanted
            self._wanted = Wanted(
                wanted.content, wanted.content_version, percent, wanted.brightness_version + 1
            )
            self._changed.notify_all()

    def newest(self) -> Wanted:
        with self._changed:
            return self._wanted

    def wait_newer(self, shown: Wanted | None, timeout: float) -> Wanted | None:
        """The newest wanted state once it differs from `shown` (None: nothing shown on
        this connection yet); None after `timeout` or when closed."""
        with self._changed:
            self._changed.wait_for(lambda: self.closed or self._wanted.newer_than(shown), timeout)
            if self.closed or not self._wanted.newer_than(shown):
                return None
            return self._wanted

    def close(self) -> None:
        with self._changed:
            self.closed = True
            self._changed.notify_all()
