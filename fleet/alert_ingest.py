"""Placeholder (owned by the reach work): alerts as the fleet learns of them.

- `record_publication`: a message on `{root}/alert/...` (JSON alert, CAP XML, a JWS of
  either, or an empty retained payload = cleared) -> the `alerts` row; returns the alert
  id it changed, or None when the payload is not an alert it can read (logged, bounded).
- `record_alert_event`: a board's `alert.started` / `alert.ended` event (already stored as
  an event row by ingest) -> its `alert_receipts` row; returns the alert id, or None.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


def record_publication(
    session: Session, topic: str, payload: bytes, root: str, now: datetime
) -> str | None:
    raise NotImplementedError


def record_alert_event(
    session: Session, board_id: str, event: dict[str, Any], now: datetime
) -> str | None:
    raise NotImplementedError
