"""One connection to the controller: writes packets paced to the line, honours
acknowledgements, and notices when the port dies (any failure raises `LinkLost`)."""

from __future__ import annotations

import io
import select
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware_bridge.pacing import AckWatch, LineModel
from firmware_bridge.protocols.base import Packet, Pause
from firmware_bridge.protocols.common import ProtocolSettings
from firmware_bridge.transport import PortErrors, describe

ACK_POLL_S = 0.05  # longest wait for an acknowledgement before looking at the clock again
MIN_POLL_S = 0.001  # ports without a descriptor to wait on are polled this often
MAX_LEAD_S = 0.002  # take the next frame this long before the line runs dry…
LEAD_SHARE = 0.25  # …but never more than this share of the last packet's time on the wire
READ_CHUNK = 4096


class LinkLost(Exception):
    """The port failed; the message says why in plain words."""


class Closing(Exception):
    """The output is closing: unwind the writer at once."""


@dataclass
class LinkStats:
    connected: bool = False
    frames_sent: int = 0  # handed to the port (a frame cut by a failure counts too)
    frames_superseded: int = 0  # replaced by a newer frame before the line was free
    bytes_sent: int = 0
    errors: int = 0  # link losses (one per outage) and missing acknowledgements
    ack_timeouts: int = 0


class Session:
    def __init__(
        self,
        port: Any,
        settings: ProtocolSettings,
        stats: LinkStats,
        stop: threading.Event,
        clock: Callable[[], float],
    ) -> None:
        self.port = port
        self.settings = settings
        self.stats = stats
        self.stop = stop
        self.clock = clock
        self.line = LineModel(settings.bytes_per_second)
        self.acks = AckWatch(settings.ack_policy)
        self._ack_marker: bytes | None = None
        self._quiet_until = 0.0  # the gap the last packet asked for ends here
        self._last_size = 0
        self._device_node = settings.port if "://" not in settings.port else None

    # --- writing -------------------------------------------------------------------------

    def send(self, packet: Packet) -> None:
        self.wait_until(self._quiet_until)
        for part in packet.parts:
            if isinstance(part, Pause):
                self.wait_until(self.line.busy_until + part.seconds)
            else:
                self._write(part)
        if packet.ack is not None:
            self._acknowledge(packet.ack)
        self._quiet_until = self.line.busy_until + packet.gap_after_s
        self._last_size = packet.size

    def ready_at(self) -> float:
        """When to take the next frame: just before the line runs dry, so that the newest
        frame is taken and the kernel's buffer bridges the gap (the line never idles)."""
        lead = min(MAX_LEAD_S, LEAD_SHARE * self.line.transmit_time(self._last_size))
        return max(self._quiet_until, self.line.busy_until - lead)

    def wait_until(self, deadline: float) -> None:
        delay = deadline - self.clock()
        if delay > 0 and self.stop.wait(delay):
            raise Closing
        if self.stop.is_set():
            raise Closing

    def _write(self, data: bytes) -> None:
        self.port.write_timeout = self.line.transmit_time(len(data)) + self.settings.write_timeout_s
        started = self.clock()
        try:
            self.port.write(data)
        except PortErrors as exc:
            if self.stop.is_set():
                raise Closing from None
            raise LinkLost(f"writing to {self.settings.port} failed: {describe(exc)}") from None
        self.line.sent(len(data), started)
        self.stats.bytes_sent += len(data)

    # --- acknowledgements and liveness ---------------------------------------------------

    def _acknowledge(self, marker: bytes) -> None:
        self._ack_marker = marker
        self.acks.sent()
        if not self.acks.waiting:
            self.poll()  # an acknowledgement already there teaches "auto" to wait for them
            return
        # Nothing can be acknowledged before its last byte is on the wire.
        self.wait_until(self.line.busy_until)
        deadline = self.line.busy_until + self.settings.ack_timeout
        while self.acks.owed:
            self.poll()
            if not self.acks.owed:
                self.line.drained(self.clock())
                return
            remaining = deadline - self.clock()
            if remaining <= 0:
                self.acks.timed_out()
                self.stats.ack_timeouts += 1
                self.stats.errors += 1
                return
            self._wait_readable(min(remaining, ACK_POLL_S))

    def _wait_readable(self, timeout: float) -> None:
        """Until the controller sends something (at once on a tty or socket), or `timeout`."""
        try:
            fd = self.port.fileno()
            select.select([fd], [], [], timeout)
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            self.wait_until(self.clock() + min(timeout, MIN_POLL_S))  # URL ports: poll
        if self.stop.is_set():
            raise Closing

    def poll(self) -> bytes:
        """Read what the controller sent (replies, acknowledgements). Reading is also how
        a dead port shows: a hung-up tty or a vanished USB adapter fails here."""
        if self._device_node is not None and not Path(self._device_node).exists():
            raise LinkLost(f"{self._device_node} vanished (adapter unplugged?)")
        try:
            waiting = self.port.in_waiting
            data: bytes = self.port.read(min(waiting, READ_CHUNK)) if waiting else b""
        except PortErrors as exc:
            raise LinkLost(f"reading from {self.settings.port} failed: {describe(exc)}") from None
        if data and self._ack_marker is not None:
            self.acks.received(data, self._ack_marker)
        return data
