"""Alerts inside the agent: payloads in, lifecycle, persistence, and events out.

`AlertBook` and `AlertRotation` (agent/alerts.py) decide; this class feeds them the
bytes that arrive on alert topics, keeps active alerts on disk so a board that boots
offline still shows them, and says what happened as contract events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from agent.alerts import (
    Acknowledged,
    AlertBook,
    AlertRotation,
    Ended,
    Ignored,
    Outcome,
    Started,
    Updated,
)
from agent.caches import AlertStore
from agent.messages import (
    Alert,
    AlertEnded,
    AlertIgnored,
    AlertStarted,
    AlertTest,
    AlertUpdated,
    EventBase,
    board_zone,
)
from agent.validation import InvalidInput, decode, error, loads_or_none, printable
from display_layouts import theme

log = logging.getLogger(__name__)

ALERT_MAX_BYTES = 64 * 1024

# The band or header that says what kind of message this is, in the board's language.
LABELS = {"extreme": "KHẨN CẤP", "severe": "CẢNH BÁO", "moderate": "CẢNH BÁO", "minor": "LƯU Ý"}
EXERCISE_LABEL = "DIỄN TẬP"


def alert_id_of(payload: bytes) -> str | None:
    """The id of a payload that says it is an alert (an inbox file may be one), else None."""
    data = loads_or_none(payload)  # strict: "type" given twice is not an alert's
    if isinstance(data, dict) and data.get("type") == "alert":
        alert_id = data.get("id")
        return alert_id if isinstance(alert_id, str) and alert_id else "(no id)"
    return None


def alert_texts(alert: Alert) -> dict[str, str]:
    """The alert's texts by field path (for checks of what the board can draw)."""
    texts = {"headline": alert.headline, "description": alert.description}
    texts["instruction"] = alert.instruction
    texts["sender_name"] = alert.sender_name
    return {path: text for path, text in texts.items() if text}


def alert_fields(alert: Alert) -> dict[str, str]:
    """The slots of the alert layouts, filled from an alert: its texts, who issued it,
    when (in the board's time zone), until when, and its risk level in its colour."""
    fields = {"label": EXERCISE_LABEL if alert.status == "exercise" else LABELS[alert.severity]}
    for name in ("headline", "description", "instruction"):
        value = getattr(alert, name)
        if value:
            fields[name] = value
    if alert.sender_name:
        fields["authority"] = alert.sender_name
    zone = board_zone()
    fields["issued"] = f"Phát lúc {alert.sent.astimezone(zone):%H:%M %d/%m/%Y}"
    fields["expires"] = f"Hết hiệu lực {alert.expires.astimezone(zone):%H:%M %d/%m}"
    if alert.risk_level is not None:
        fields["risk"] = f"CẤP ĐỘ RỦI RO {alert.risk_level}"
        fields["risk_color"], fields["risk_ink"] = theme.risk_band(alert.risk_level)
    return fields


class AlertDesk:
    _WRITE_KEY = "write:alerts"  # one storage problem, whichever alert could not be saved

    def __init__(self, store: AlertStore, on_storage_error: Callable[[str], None]) -> None:
        self.book = AlertBook()
        self.rotation = AlertRotation()
        self.store = store
        self.on_storage_error = on_storage_error

    def load(self, now: datetime) -> list[EventBase]:
        """Alerts cached before a restart, unless they have expired since."""
        events: list[EventBase] = []
        for alert in self.store.load_all():
            # Already on disk: not written again (thousands cost a restart seconds).
            events += self._apply(self.book.receive(alert, now), now, save=False)
            if not self.book.is_active(alert.id):
                self._forget(alert.id)  # expired while the board was off: not again next time
        return events

    def on_payload(self, topic_id: str, payload: bytes, now: datetime) -> list[EventBase]:
        """An alert topic's payload; raises `InvalidInput` for bad ones (nothing changes)."""
        if not payload:  # an empty retained payload deletes the alert
            return self._apply(self.book.delete(topic_id), now)
        alert = decode(payload, Alert, max_bytes=ALERT_MAX_BYTES)
        if alert.id != topic_id:
            shown = printable(topic_id)  # a topic may hold control characters
            message = f"'{alert.id}' does not match the alert id of the topic ('{shown}')"
            raise InvalidInput([error("id", message)])
        return self._apply(self.book.receive(alert, now), now)

    def expire(self, now: datetime) -> list[EventBase]:
        return self._apply(self.book.expire(now), now)

    def _apply(
        self, outcomes: list[Outcome], now: datetime, *, save: bool = True
    ) -> list[EventBase]:
        events: list[EventBase] = []
        for outcome in outcomes:
            match outcome:
                case Started(alert=alert):
                    if save:
                        self._save(alert)
                    events.append(AlertStarted(at=now, alert_id=alert.id, severity=alert.severity))
                case Updated(alert=alert):
                    self._save(alert)
                    events.append(AlertUpdated(at=now, alert_id=alert.id, severity=alert.severity))
                case Ended(alert=alert, reason=reason):
                    self._forget(alert.id)
                    events.append(
                        AlertEnded(
                            at=now, alert_id=alert.id, severity=alert.severity, reason=reason
                        )
                    )
                case Ignored(alert_id=alert_id, reason=reason):
                    events.append(AlertIgnored(at=now, alert_id=alert_id, reason=reason))
                case Acknowledged(alert=alert):
                    events.append(AlertTest(at=now, alert_id=alert.id, severity=alert.severity))
        return events

    def _save(self, alert: Alert) -> None:
        # One report while saving fails (a burst of alerts on a full SD card is one problem).
        try:
            self.store.save(alert)
        except OSError as exc:
            self._storage_problem(f"cannot save alert {alert.id}: {exc}")
        else:
            self.store.health.resolved(self._WRITE_KEY)

    def _forget(self, alert_id: str) -> None:
        try:
            self.store.delete(alert_id)
        except OSError as exc:
            self._storage_problem(f"cannot delete alert {alert_id}: {exc}")

    def _storage_problem(self, message: str) -> None:
        if self.store.health.sink is None:  # a store without its own reporting
            self.on_storage_error(message)
        else:
            self.store.health.problem(self._WRITE_KEY, message)

    def active_ids(self) -> list[str]:
        return [alert.id for alert in self.book.active()]

    def next_wakeup(self) -> datetime | None:
        times = [t for t in (self.book.next_expiry(), self.rotation.next_wakeup()) if t]
        return min(times, default=None)
