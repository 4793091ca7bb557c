"""Alerts as the fleet learns of them (issue 15, CONTRACT §6, §9).

- `record_publication`: a message on `{root}/alert/...` (JSON alert, CAP XML, a JWS of
  either, or an empty retained payload = cleared) -> the `alerts` row; returns the alert
  id it changed, or None when the payload is not an alert it can read (one WARNING).
- `record_alert_event`: a board's `alert.started` / `alert.ended` event (already stored as
  an event row by ingest) -> its `alert_receipts` row; returns the alert id, or None.

The payload is read with the agent's own readers, so the fleet names an alert exactly as
the boards' events do: a JSON alert by its `id`, a CAP message by its incident (the
identifier of the incident's first message, which an Update or Cancel references). The
fleet only observes: a JWS is unwrapped without checking its signature (the boards do).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from agent.cap.model import CapMessage
from agent.cap.parse import parse_cap
from agent.messages import Alert as JsonAlert
from agent.messages import is_identifier
from agent.trust.jws import looks_like_jws, parse_jws
from agent.validation import decode
from display_layouts.input_problems import Problems, printable
from fleet.reach import alert_topic, areas_json
from fleet.store.models import ALERT_ID, Alert, AlertReceipt, Board

log = logging.getLogger(__name__)

MAX_ALERT_BYTES: Final = 1024 * 1024  # CONTRACT §3's default payload limit
MAX_HEADLINE: Final = 400
# A receipt: a board showed the alert, or acknowledged a `test` alert it does not show
# (CONTRACT §6) — so a city can run a reach drill with a Test message.
RECEIPT_KINDS: Final = ("alert.started", "alert.test")


@dataclass(frozen=True, slots=True)
class Published:
    """What the fleet keeps of one alert message."""

    alert_id: str
    sent: datetime | None
    severity: str | None
    headline: str | None
    status: str | None
    areas: list[dict[str, Any]] | None
    ends: bool  # a cancel


def _incident_id(message: CapMessage) -> str:
    # As agent/alert_cap.incident_keys: the earliest referenced message names the incident.
    references = sorted(message.references, key=lambda reference: reference.sent)
    return references[0].identifier if references else message.identifier


def _from_cap(payload: bytes) -> Published:
    message = parse_cap(payload)
    info = message.infos[0] if message.infos else None
    # An info without areas is shown everywhere: then the alert has no area targeting.
    targeted = bool(message.infos) and all(i.areas for i in message.infos)
    areas = [area for i in message.infos for area in i.areas] if targeted else []
    return Published(
        alert_id=_incident_id(message),
        sent=message.sent,
        severity=info.severity.lower() if info else None,
        headline=info.headline if info else None,
        status=message.status.lower(),
        areas=areas_json(areas) if targeted else None,
        ends=message.msg_type == "Cancel",
    )


def _from_json(payload: bytes) -> Published:
    alert = decode(payload, JsonAlert, max_bytes=MAX_ALERT_BYTES)
    return Published(
        alert_id=alert.id,
        sent=alert.sent,
        severity=alert.severity,
        headline=alert.headline,
        status=alert.status,
        areas=None,
        ends=alert.msg_type == "cancel",
    )


def read_alert(payload: bytes) -> Published:
    """An alert payload (JSON, CAP, or a JWS of either) as the fleet keeps it; raises
    ValueError, or the agent's `Problems` naming what is wrong, when not."""
    if len(payload) > MAX_ALERT_BYTES:
        raise ValueError(f"payload is {len(payload)} bytes; limit {MAX_ALERT_BYTES}")
    if looks_like_jws(payload):
        payload = parse_jws(payload, max_bytes=MAX_ALERT_BYTES).payload
    if payload.lstrip()[:1] == b"<":
        return _from_cap(payload)
    return _from_json(payload)


def _alert_row(session: Session, alert_id: str, now: datetime) -> Alert:
    row = session.get(Alert, alert_id)
    if row is None:
        row = Alert(alert_id=alert_id, first_seen_at=now, scope=None, areas=None)
        session.add(row)
    return row


def _cleared(session: Session, topic: str, now: datetime) -> str | None:
    """An empty retained payload: the alert held on this topic ended."""
    rows = session.query(Alert).filter(Alert.topic == topic).all()
    for row in rows:
        row.ended_at = row.ended_at or now
    return rows[0].alert_id if rows else None


def _readable(topic: str, payload: bytes) -> Published | None:
    """The payload read, or None after one WARNING saying why not (bounded, printable)."""
    shown = printable(topic, 200)
    try:
        published = read_alert(payload)
    except Problems as exc:
        log.warning(
            "alert on %s not readable: %s", shown, printable("; ".join(exc.problems[:3]), 300)
        )
        return None
    except (ValueError, RecursionError) as exc:
        log.warning("alert on %s not readable: %s", shown, printable(str(exc), 300))
        return None
    if len(published.alert_id) > ALERT_ID or not is_identifier(published.alert_id):
        log.warning("alert on %s: its id cannot name an alert on a board", shown)
        return None
    return published


def record_publication(
    session: Session, topic: str, payload: bytes, root: str, now: datetime
) -> str | None:
    where = alert_topic(topic, root)
    if where is None:
        log.warning("not an alert topic: %s", printable(topic, 200))
        return None
    if not payload:
        return _cleared(session, topic, now)
    published = _readable(topic, payload)
    if published is None:
        return None
    # A JSON alert's id matches the topic's last level (the boards check it); a CAP
    # incident's need not, so the id is the payload's, never the topic's.
    scope, scope_value, _topic_id = where
    row = _alert_row(session, published.alert_id, now)
    if published.ends:  # a cancel keeps what the alert said; it only ends it
        row.ended_at = row.ended_at or now
        row.topic = row.topic or topic
        return row.alert_id
    row.scope, row.scope_value, row.topic = scope, scope_value or None, topic
    # An update keeps the first publication's times: a board's receipt is its first
    # showing, so its latency is measured from the incident's first message.
    row.sent = row.sent or published.sent
    row.published_at = row.published_at or now
    row.severity = published.severity
    row.headline = (published.headline or "")[:MAX_HEADLINE] or None
    row.status = published.status
    row.areas = published.areas
    row.ended_at = None
    return row.alert_id


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _board_row(session: Session, board_id: str, now: datetime) -> None:
    if session.get(Board, board_id) is None:
        session.add(Board(board_id=board_id, first_seen_at=now, state="unknown"))
        session.flush()


def record_alert_event(
    session: Session, board_id: str, event: dict[str, Any], now: datetime
) -> str | None:
    kind, alert_id = event.get("kind"), event.get("alert_id")
    if kind not in RECEIPT_KINDS and kind != "alert.ended":
        return None
    if not isinstance(alert_id, str) or not alert_id or len(alert_id) > ALERT_ID:
        log.warning("%s from %s without a usable alert_id", kind, printable(board_id, 64))
        return None
    at = _when(event.get("received_at")) or _when(event.get("at")) or now
    _board_row(session, board_id, now)
    alert = _alert_row(session, alert_id, now)
    if alert.severity is None and isinstance(event.get("severity"), str):
        alert.severity = str(event["severity"])[:16]
    if alert.sent is None:
        alert.sent = _when(event.get("sent"))
    receipt = session.get(AlertReceipt, (alert_id, board_id))
    if kind in RECEIPT_KINDS:
        latency = event.get("latency_ms")
        latency_ms = latency if isinstance(latency, int) and not isinstance(latency, bool) else None
        if receipt is None:
            receipt = AlertReceipt(alert_id=alert_id, board_id=board_id, started_at=at)
            session.add(receipt)
        else:  # started again (an update): the first showing is the one measured
            receipt.ended_at, receipt.end_reason = None, None
            return alert_id
        receipt.latency_ms = latency_ms
        return alert_id
    if receipt is None:  # the start was lost: what we know is that it showed until now
        receipt = AlertReceipt(alert_id=alert_id, board_id=board_id, started_at=at)
        session.add(receipt)
    receipt.ended_at = _when(event.get("at")) or now
    reason = event.get("reason")
    receipt.end_reason = str(reason)[:32] if isinstance(reason, str) else None
    return alert_id
