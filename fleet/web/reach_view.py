"""The alert reach report as the API serves it: `fleet.reach` decides scope and latency;
this adds the latency histogram the page draws."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet.reach import reach_report
from fleet.store.models import Alert, AlertReceipt, Board
from fleet.web.schemas import AlertReach, AlertSummary, HistogramBin, LatencyOut, ReceiptOut

HISTOGRAM_BINS = 12
ALERTS_LISTED = 200


def histogram(latencies: list[int], bins: int = HISTOGRAM_BINS) -> list[HistogramBin]:
    """Equal-width bins from 0 to the largest latency (at least 1 ms wide)."""
    if not latencies:
        return []
    width = max(1, -(-max(latencies) // bins))  # ceiling division
    counts = [0] * bins
    for latency in latencies:
        counts[min(bins - 1, max(0, latency) // width)] += 1
    return [
        HistogramBin(from_ms=i * width, to_ms=(i + 1) * width, count=count)
        for i, count in enumerate(counts)
    ]


def alert_reach(session: Session, alert: Alert, boards: list[Board] | None = None) -> AlertReach:
    if boards is None:
        boards = list(session.scalars(select(Board)))
    receipts = list(
        session.scalars(select(AlertReceipt).where(AlertReceipt.alert_id == alert.alert_id))
    )
    report = reach_report(alert, boards, receipts, datetime.now(UTC))
    receipts_out = [
        ReceiptOut(board_id=r.board_id, latency_ms=r.latency_ms, started_at=r.started_at)
        for r in report.receipts
    ]
    return AlertReach(
        alert_id=report.alert_id,
        headline=report.headline,
        severity=report.severity,
        sent=report.sent,
        ended_at=report.ended_at,
        boards_in_scope=list(report.boards_in_scope),
        boards_showing=list(report.boards_showing),
        missing=list(report.missing),
        latency_ms=LatencyOut(
            p50=report.latency_ms.p50, p95=report.latency_ms.p95, max=report.latency_ms.max
        ),
        receipts=receipts_out,
        histogram=histogram([r.latency_ms for r in receipts_out if r.latency_ms is not None]),
    )


def alert_list(session: Session) -> list[AlertSummary]:
    alerts = list(
        session.scalars(select(Alert).order_by(Alert.first_seen_at.desc()).limit(ALERTS_LISTED))
    )
    boards = list(session.scalars(select(Board))) if alerts else []  # once, not per alert
    summaries = []
    for alert in alerts:
        reach = alert_reach(session, alert, boards)
        summaries.append(
            AlertSummary(
                alert_id=reach.alert_id,
                headline=reach.headline,
                severity=reach.severity,
                sent=reach.sent,
                ended_at=reach.ended_at,
                in_scope=len(reach.boards_in_scope),
                showing=len(reach.boards_showing),
                latency_ms=reach.latency_ms,
            )
        )
    return summaries
