"""Alert reach (issue 15, CONTRACT §9 `GET /api/alerts/{alert_id}`): which boards an alert
was meant for, which showed it, which are missing, and how fast it got there.

Pure: the rows come in as arguments and the clock as `now`; no session is opened here.
Scope follows the board's own rules, so the fleet and the board never disagree: the
topic's scope (the agent's topic table) and, for CAP alerts with `<area>`s, the agent's
`covers` (a geocode among the board's codes, or a polygon/circle holding its location;
a board with neither shows such alerts, so it counts as in scope).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, Field

from agent.cap.model import Area, Circle, LatLon, Polygon, ValuePair
from agent.cap.targeting import covers
from agent.topic_table import ALERT_ID, TOPIC_TABLE
from fleet.store.models import Alert, AlertReceipt, Board

# The latency chart's bucket edges (ms): sirens to phones are judged in seconds, so the
# buckets are fine below 5 s and coarse above; the last bucket is open-ended.

# `{root}/alert/…/{alertId}` templates of the agent's topic table, by scope, as levels
# after the root: ["alert", "district", "{district}", "{alertId}"].
_ALERT_TEMPLATES: Final = tuple(
    (str(row.scope), row.template.split("/")[1:])
    for row in TOPIC_TABLE
    if row.purpose == "alert" and row.scope is not None
)


def alert_scope(topic: str, root: str) -> tuple[str, str] | None:
    """(scope, scope value) of an alert topic under `root`, or None when it is not one:
    `city` (value ""), `district` (`d`), `commune` (`d/c`), `board` (`b`), `group` (`g`)."""
    parsed = alert_topic(topic, root)
    return None if parsed is None else (parsed[0], parsed[1])


def alert_topic(topic: str, root: str) -> tuple[str, str, str] | None:
    """(scope, scope value, the topic's alert id level) of an alert topic, or None."""
    prefix = root.rstrip("/") + "/"
    if not topic.startswith(prefix):
        return None
    levels = topic[len(prefix) :].split("/")
    for scope, template in _ALERT_TEMPLATES:
        if len(levels) != len(template) or any(not level for level in levels):
            continue
        values: list[str] = []
        alert_id = None
        for level, pattern in zip(levels, template, strict=True):
            if pattern == f"{{{ALERT_ID}}}":
                alert_id = level
            elif pattern.startswith("{"):
                values.append(level)
            elif level != pattern:
                break
        else:
            if alert_id is not None and "+" not in topic and "#" not in topic:
                return scope, "/".join(values), alert_id
    return None


def areas_json(areas: Iterable[Area]) -> list[dict[str, Any]]:
    """CAP areas as the `alerts.areas` column keeps them."""
    return [
        {
            "geocodes": [code.value for code in area.geocodes],
            "polygons": [[[p.lat, p.lon] for p in polygon.points] for polygon in area.polygons],
            "circles": [[c.centre.lat, c.centre.lon, c.radius_km] for c in area.circles],
        }
        for area in areas
    ]


def _area(stored: dict[str, Any]) -> Area:
    return Area(
        description="",
        geocodes=tuple(ValuePair("", str(code)) for code in stored.get("geocodes", [])),
        polygons=tuple(
            Polygon(tuple(LatLon(float(lat), float(lon)) for lat, lon in ring))
            for ring in stored.get("polygons", [])
        ),
        circles=tuple(
            Circle(LatLon(float(lat), float(lon)), float(radius))
            for lat, lon, radius in stored.get("circles", [])
        ),
    )


def _topic_reaches(alert: Alert, board: Board) -> bool:
    value = alert.scope_value or ""
    match alert.scope:
        case "city":
            return True
        case "district":
            return board.district == value
        case "commune":
            return board.district is not None and f"{board.district}/{board.commune}" == value
        case "board":
            return board.board_id == value
        case "group":
            return value in (board.groups or [])
    return False  # scope unknown: only boards that reported it (see reach_report)


def _areas_cover(alert: Alert, board: Board) -> bool:
    if not alert.areas:
        return True
    codes = [str(code) for code in board.area_codes or []]
    location = (
        LatLon(board.latitude, board.longitude)
        if board.latitude is not None and board.longitude is not None
        else None
    )
    if not codes and location is None:
        return True  # the board cannot check: it shows the alert (CONTRACT §6)
    return any(covers(_area(area), codes, location) for area in alert.areas)


def board_in_scope(alert: Alert, board: Board) -> bool:
    """Whether `alert` is meant for `board`: its topic's scope holds the board and, when
    the alert names areas, one of them covers it."""
    return _topic_reaches(alert, board) and _areas_cover(alert, board)


def nearest_rank(ordered: Sequence[int], percent: float) -> int:
    """The nearest-rank percentile of sorted values (one of the values, never between)."""
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


class LatencySummary(BaseModel):
    p50: int | None = Field(description="Median latency (ms), nearest rank; null: no boards")
    p95: int | None = Field(description="95th percentile (ms), nearest rank")
    max: int | None = Field(description="The slowest board (ms)")


def latency_summary(values_ms: Iterable[int]) -> LatencySummary:
    ordered = sorted(values_ms)
    if not ordered:
        return LatencySummary(p50=None, p95=None, max=None)
    return LatencySummary(
        p50=nearest_rank(ordered, 50), p95=nearest_rank(ordered, 95), max=ordered[-1]
    )


class ReceiptView(BaseModel):
    board_id: str
    latency_ms: int | None = Field(description="Publish/`sent` to this board's alert.started")
    started_at: datetime
    ended_at: datetime | None = None
    in_scope: bool


class ReachReport(BaseModel):
    """`GET /api/alerts/{alert_id}`."""

    alert_id: str
    boards_in_scope: list[str] = Field(description="Ids of the boards the alert is meant for")
    boards_showing: list[str] = Field(description="Ids of the boards that started it")
    missing: list[str] = Field(description="In scope and not (yet) showing")
    latency_ms: LatencySummary
    # Additions for the reach page.
    in_scope_count: int
    showing_count: int
    showing_out_of_scope: list[str] = Field(description="Showed it although not in scope")
    scope: str | None
    scope_value: str | None
    headline: str | None
    severity: str | None
    status: str | None
    sent: datetime | None
    published_at: datetime | None
    ended_at: datetime | None
    receipts: list[ReceiptView]
    now: datetime


def receipt_latency_ms(alert: Alert, receipt: AlertReceipt) -> int | None:
    """The board's own measure when its clock was synced; else its receipt minus the
    alert's `sent` (or, without one, the fleet's seeing it published)."""
    if receipt.latency_ms is not None:
        return max(0, receipt.latency_ms)
    origin = alert.sent or alert.published_at
    if origin is None:
        return None
    return max(0, round((receipt.started_at - origin).total_seconds() * 1000))


def reach_report(
    alert: Alert, boards: Iterable[Board], receipts: Iterable[AlertReceipt], now: datetime
) -> ReachReport:
    """The alert's reach over `boards`, from its `receipts` (this alert's rows)."""
    by_board = {r.board_id: r for r in receipts if r.alert_id == alert.alert_id}
    known = sorted(boards, key=lambda board: board.board_id)
    if alert.scope is None:  # never seen on the broker: the boards that told us
        in_scope = [b.board_id for b in known if b.board_id in by_board]
    else:
        in_scope = [b.board_id for b in known if board_in_scope(alert, b)]
    scoped = set(in_scope)
    showing = sorted(by_board)
    views = [
        ReceiptView(
            board_id=board_id,
            latency_ms=receipt_latency_ms(alert, receipt),
            started_at=receipt.started_at,
            ended_at=receipt.ended_at,
            in_scope=board_id in scoped,
        )
        for board_id, receipt in sorted(by_board.items())
    ]
    latencies = [v.latency_ms for v in views if v.in_scope and v.latency_ms is not None]
    return ReachReport(
        alert_id=alert.alert_id,
        boards_in_scope=in_scope,
        boards_showing=showing,
        missing=[board_id for board_id in in_scope if board_id not in by_board],
        latency_ms=latency_summary(latencies),
        in_scope_count=len(in_scope),
        showing_count=len(showing),
        showing_out_of_scope=[board_id for board_id in showing if board_id not in scoped],
        scope=alert.scope,
        scope_value=alert.scope_value,
        headline=alert.headline,
        severity=alert.severity,
        status=alert.status,
        sent=alert.sent,
        published_at=alert.published_at,
        ended_at=alert.ended_at,
        receipts=views,
        now=now,
    )
