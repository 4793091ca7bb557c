"""STAND-IN for the reach work's module (replaced by that branch at merge).

Only the signature and the fields the web API reads are real here: city scope (every
board is in scope) and "showing" = every board with a receipt.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from fleet.store.models import Alert, AlertReceipt, Board


class Latency(BaseModel):
    p50: float | None
    p95: float | None
    max: float | None


class Receipt(BaseModel):
    board_id: str
    latency_ms: int | None
    started_at: datetime


class ReachReport(BaseModel):
    alert_id: str
    headline: str | None
    severity: str | None
    sent: datetime | None
    ended_at: datetime | None
    boards_in_scope: list[str]
    boards_showing: list[str]
    missing: list[str]
    latency_ms: Latency
    receipts: list[Receipt]


def _percentile(values: list[int], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))])


def reach_report(
    alert: Alert, boards: list[Board], receipts: list[AlertReceipt], now: datetime
) -> ReachReport:
    scope = sorted(board.board_id for board in boards)
    showing_set = {receipt.board_id for receipt in receipts}
    showing = sorted(showing_set)
    latencies = [r.latency_ms for r in receipts if r.latency_ms is not None]
    return ReachReport(
        alert_id=alert.alert_id,
        headline=alert.headline,
        severity=alert.severity,
        sent=alert.sent,
        ended_at=alert.ended_at,
        boards_in_scope=scope,
        boards_showing=showing,
        missing=[b for b in scope if b not in showing_set],
        latency_ms=Latency(
            p50=_percentile(latencies, 0.5),
            p95=_percentile(latencies, 0.95),
            max=float(max(latencies)) if latencies else None,
        ),
        receipts=[
            Receipt(board_id=r.board_id, latency_ms=r.latency_ms, started_at=r.started_at)
            for r in receipts
        ],
    )
