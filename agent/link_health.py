"""What the link reports about itself: the figures of the heartbeat's `mqtt` block and
the short line for systemd's STATUS= (denials, or why the link is down)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from agent.clock import Clock
from agent.messages import MqttHealth
from agent.mqtt_wire import ProtocolName
from agent.outbox import Outbox


class LinkHealth:
    """The link's counters and its last error; paho's thread writes them (the core only
    reads), except `too_large`, which the publishing side counts too."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.reconnects = 0  # failed attempts and re-connections after a loss
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.denied = 0
        self.denials: dict[str, str] = {}  # "write TOPIC" / "read TOPIC" → reason
        self.too_large = 0  # messages dropped because the broker cannot take their size

    def note_error(self, cause: str) -> None:
        self.last_error = cause
        self.last_error_at = self._clock.now()

    def deny(self, what: str, reason: str) -> bool:
        """Count a refusal by the broker; True when it is news (a first, or a new reason)."""
        self.denied += 1
        if self.denials.get(what) == reason:
            return False
        self.denials[what] = reason
        return True

    def report(
        self,
        tz: tzinfo,
        outbox: Outbox | None,
        *,
        connected_since: datetime | None,
        protocol: ProtocolName,
        dropped_inbound: int,
    ) -> MqttHealth:
        since = connected_since
        return MqttHealth(
            connected_since=since.astimezone(tz) if since else None,
            reconnects=self.reconnects,
            outbox=len(outbox) if outbox is not None else 0,
            outbox_dropped=outbox.dropped if outbox is not None else 0,
            protocol=protocol,
            last_error=self.last_error,
            last_error_at=self.last_error_at.astimezone(tz) if self.last_error_at else None,
            denied=self.denied,
            too_large=self.too_large,
            dropped_inbound=dropped_inbound,
        )

    def problems(self, *, connected: bool) -> str | None:
        """A short line for systemd's STATUS=: denials, or why the link is down."""
        parts = []
        if self.denials:
            parts.append("broker denies " + ", ".join(sorted(self.denials)))
        if not connected and self.last_error:
            parts.append(f"last error: {self.last_error}")
        return "; ".join(parts) or None
