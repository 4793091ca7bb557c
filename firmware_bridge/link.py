"""The writer thread: connects, keeps the controller showing the newest content, and
reconnects with backoff when the port fails, resending everything on return.

It talks to the core only through `report(message)` (which puts a message on the core's
queue): `SerialLinkChanged` when the link goes up or down, `SerialProblem` for content
the panel cannot show as it is.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from firmware_bridge.events import SerialLinkChanged
from firmware_bridge.mailbox import Mailbox, Wanted
from firmware_bridge.pacing import Backoff
from firmware_bridge.protocols.base import ControllerProtocol
from firmware_bridge.protocols.common import ProtocolSettings
from firmware_bridge.session import Closing, LinkLost, LinkStats, Session
from firmware_bridge.transport import PortErrors, close_quietly, describe, open_port

log = logging.getLogger(__name__)

IDLE_CHECK_S = 0.5  # with nothing new to send, look at the port this often


Report = Callable[[object], None]
PortOpener = Callable[[ProtocolSettings], Any]


class ControllerLink:
    def __init__(
        self,
        settings: ProtocolSettings,
        protocol: ControllerProtocol,
        report: Report,
        *,
        now: Callable[[], datetime],
        clock: Callable[[], float] = time.monotonic,
        opener: PortOpener = open_port,
    ) -> None:
        self.settings = settings
        self.protocol = protocol
        self.stats = LinkStats()
        self.mailbox = Mailbox()
        self._report = report
        self._now = now
        self._clock = clock
        self._opener = opener
        self._stop = threading.Event()
        self._port: Any = None
        self._reported_up: bool | None = None
        self._last_sent_version = 0  # frames between two sent ones were superseded
        self._thread = threading.Thread(target=self._run, name="serial-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 1.0) -> None:
        self._stop.set()
        self.mailbox.close()
        cancel = getattr(self._port, "cancel_write", None)
        if cancel is not None:
            with contextlib.suppress(*PortErrors):
                cancel()  # a write blocked on a stuck line returns at once
        if self._thread.is_alive():  # never started (the agent failed before its start)
            self._thread.join(timeout)

    def report(self, message: object) -> None:
        try:
            self._report(message)
        except Exception:  # the core's queue must not take the writer down
            log.exception("could not report %r", message)

    # --- supervision -----------------------------------------------------------------------

    def _run(self) -> None:
        # Jittered like the broker's and the image servers' backoff (signage_base.backoff).
        backoff = Backoff(
            self.settings.reconnect_min_s, self.settings.reconnect_max_s, random.Random()
        )
        while not self._stop.is_set():
            try:
                self._connected(backoff)
            except LinkLost as lost:
                self._went_down(str(lost))
            except Closing:
                break
            if self._stop.wait(backoff.next()):
                break
        self.stats.connected = False

    def _connected(self, backoff: Backoff) -> None:
        try:
            self._port = self._opener(self.settings)
        except PortErrors as exc:
            raise LinkLost(f"cannot open {self.settings.port}: {describe(exc)}") from None
        try:
            session = Session(self._port, self.settings, self.stats, self._stop, self._clock)
            for packet in self.protocol.on_connect(self._now()):
                session.send(packet)
            self._went_up()
            backoff.reset()
            self._serve(session)
        finally:
            close_quietly(self._port)
            self._port = None

    def _went_up(self) -> None:
        self.stats.connected = True
        self._reported_up = True
        s = self.settings
        message = f"{self.protocol.name} controller on {s.port} at {s.baudrate} {s.line_format}"
        log.info("serial link up: %s", message)
        self.report(SerialLinkChanged(True, s.port, message))

    def _went_down(self, message: str) -> None:
        self.stats.connected = False
        if self._reported_up is False:
            return  # still the same outage: reported once
        self.stats.errors += 1
        self._reported_up = False
        log.warning("serial link down: %s", message)
        self.report(SerialLinkChanged(False, self.settings.port, message))

    # --- showing the newest content --------------------------------------------------------

    def _serve(self, session: Session) -> None:
        shown: Wanted | None = None  # nothing on this connection yet: all is sent again
        sent_content: object = None
        while True:
            wanted = self.mailbox.wait_newer(shown, IDLE_CHECK_S)
            if self._stop.is_set():
                raise Closing
            if wanted is None:
                session.poll()
                continue
            session.wait_until(session.ready_at())
            session.poll()
            wanted = self.mailbox.newest()  # the line is free now: take the newest
            if wanted.brightness is not None and (
                shown is None or wanted.brightness_version != shown.brightness_version
            ):
                for packet in self.protocol.brightness(wanted.brightness) or []:
                    session.send(packet)
            content = wanted.content
            if content is not None and content != sent_content:  # an unchanged frame is free
                skipped = wanted.content_version - self._last_sent_version - 1
                self.stats.frames_superseded += max(0, skipped)
                self._last_sent_version = wanted.content_version
                # Counted as handed to the port: before the panel can possibly show it.
                self.stats.frames_sent += 1
                for packet in self.protocol.encode(content):
                    session.send(packet)
                sent_content = content
            shown = wanted
