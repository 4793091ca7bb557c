"""Alert reach, pure (fleet/reach.py): scope from the topic and the areas, latency, the
report the reach page draws."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fleet.reach import (
    alert_scope,
    board_in_scope,
    latency_summary,
    reach_report,
)
from fleet.store.models import Alert, AlertReceipt, Board

ROOT = "signage/v1"
T0 = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)


def board(board_id: str, **where: Any) -> Board:
    values: dict[str, Any] = {
        "district": None,
        "commune": None,
        "groups": [],
        "area_codes": [],
        "latitude": None,
        "longitude": None,
        **where,
    }
    return Board(board_id=board_id, first_seen_at=T0, state="online", **values)


def alert(scope: str | None, value: str | None = None, **fields: Any) -> Alert:
    values: dict[str, Any] = {"sent": T0, "published_at": T0, "areas": None, **fields}
    return Alert(alert_id="bao-so-3", first_seen_at=T0, scope=scope, scope_value=value, **values)


def receipt(board_id: str, after_ms: int, latency_ms: int | None = None) -> AlertReceipt:
    return AlertReceipt(
        alert_id="bao-so-3",
        board_id=board_id,
        started_at=T0 + timedelta(milliseconds=after_ms),
        latency_ms=latency_ms,
    )


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        (f"{ROOT}/alert/city/bao-so-3", ("city", "")),
        (f"{ROOT}/alert/district/ba-dinh/bao-so-3", ("district", "ba-dinh")),
        (f"{ROOT}/alert/commune/ba-dinh/phuc-xa/bao-so-3", ("commune", "ba-dinh/phuc-xa")),
        (f"{ROOT}/alert/board/hn-01/bao-so-3", ("board", "hn-01")),
        (f"{ROOT}/alert/group/truong-hoc/bao-so-3", ("group", "truong-hoc")),
        (f"{ROOT}/alert/district/ba-dinh", None),  # no id level
        (f"{ROOT}/alert/region/x/bao-so-3", None),
        (f"{ROOT}/content/city", None),
        ("other/alert/city/bao-so-3", None),
        (f"{ROOT}/alert/district//bao-so-3", None),
    ],
)
def test_the_topic_names_the_scope(topic: str, expected: tuple[str, str] | None) -> None:
    assert alert_scope(topic, ROOT) == expected


def test_every_scope_kind_reaches_the_boards_it_names() -> None:
    phuc_xa = board("a", district="ba-dinh", commune="phuc-xa", groups=["truong-hoc"])
    elsewhere = board("b", district="hoan-kiem", commune="phuc-xa")
    assert board_in_scope(alert("city", ""), phuc_xa)
    assert board_in_scope(alert("city"), elsewhere)
    assert board_in_scope(alert("district", "ba-dinh"), phuc_xa)
    assert not board_in_scope(alert("district", "ba-dinh"), elsewhere)
    assert board_in_scope(alert("commune", "ba-dinh/phuc-xa"), phuc_xa)
    assert not board_in_scope(alert("commune", "ba-dinh/phuc-xa"), elsewhere)
    assert not board_in_scope(alert("commune", "None/phuc-xa"), board("c", commune="phuc-xa"))
    assert board_in_scope(alert("board", "a"), phuc_xa)
    assert not board_in_scope(alert("board", "a"), elsewhere)
    assert board_in_scope(alert("group", "truong-hoc"), phuc_xa)
    assert not board_in_scope(alert("group", "truong-hoc"), elsewhere)
    assert not board_in_scope(alert(None), phuc_xa)


SQUARE = [[21.0, 105.8], [21.0, 105.9], [21.1, 105.9], [21.1, 105.8], [21.0, 105.8]]


@pytest.mark.parametrize(
    ("area", "inside", "outside"),
    [
        (
            {"geocodes": ["00004"], "polygons": [], "circles": []},
            {"area_codes": ["00004"]},
            {"area_codes": ["00007"]},
        ),
        (
            {"geocodes": [], "polygons": [SQUARE], "circles": []},
            {"latitude": 21.05, "longitude": 105.85},
            {"latitude": 20.5, "longitude": 105.85},
        ),
        (
            {"geocodes": [], "polygons": [], "circles": [[21.03, 105.85, 5.0]]},
            {"latitude": 21.04, "longitude": 105.85},
            {"latitude": 21.5, "longitude": 105.85},
        ),
    ],
)
def test_areas_narrow_the_scope(
    area: dict[str, Any], inside: dict[str, Any], outside: dict[str, Any]
) -> None:
    storm = alert("city", "", areas=[area])
    assert board_in_scope(storm, board("in", **inside))
    assert not board_in_scope(storm, board("out", **outside))
    # A board with neither codes nor a location shows it (CONTRACT §6): in scope.
    assert board_in_scope(storm, board("untargeted"))


def test_areas_do_not_widen_the_topic() -> None:
    storm = alert("district", "ba-dinh", areas=[{"geocodes": ["00004"]}])
    assert not board_in_scope(storm, board("b", district="hoan-kiem", area_codes=["00004"]))


def test_percentiles_are_nearest_rank() -> None:
    assert latency_summary([]).model_dump() == {"p50": None, "p95": None, "max": None}
    assert latency_summary([700]).model_dump() == {"p50": 700, "p95": 700, "max": 700}
    values = list(range(1, 101))  # 1..100
    assert latency_summary(reversed(values)).model_dump() == {"p50": 50, "p95": 95, "max": 100}
    assert latency_summary([10, 20, 30, 40]).model_dump() == {"p50": 20, "p95": 40, "max": 40}


def test_the_report_lists_in_scope_showing_missing_and_latency() -> None:
    boards = [
        board("a", district="ba-dinh"),
        board("b", district="ba-dinh"),
        board("c", district="ba-dinh"),
        board("x", district="hoan-kiem"),
    ]
    receipts = [
        receipt("a", 900, latency_ms=400),  # the board's own measure wins (clock synced)
        receipt("b", 1500),  # no measure: receipt − sent
        receipt("x", 200),  # showed it out of scope
    ]
    report = reach_report(alert("district", "ba-dinh"), boards, receipts, T0)
    assert report.boards_in_scope == ["a", "b", "c"]
    assert report.boards_showing == ["a", "b", "x"]
    assert report.missing == ["c"]
    assert report.showing_out_of_scope == ["x"]
    assert (report.in_scope_count, report.showing_count) == (3, 3)
    assert report.latency_ms.model_dump() == {"p50": 400, "p95": 1500, "max": 1500}
    assert [(r.board_id, r.latency_ms, r.in_scope) for r in report.receipts] == [
        ("a", 400, True),
        ("b", 1500, True),
        ("x", 200, False),
    ]


def test_without_sent_latency_is_measured_from_publication() -> None:
    storm = alert("city", sent=None, published_at=T0 + timedelta(seconds=1))
    report = reach_report(storm, [board("a")], [receipt("a", 1250)], T0)
    assert report.latency_ms.max == 250
    unknown = alert("city", sent=None, published_at=None)
    assert reach_report(unknown, [board("a")], [receipt("a", 1250)], T0).latency_ms.max is None


def test_an_alert_only_boards_told_of_is_in_scope_where_it_was_shown() -> None:
    report = reach_report(alert(None), [board("a"), board("b")], [receipt("a", 300)], T0)
    assert report.boards_in_scope == ["a"]
    assert report.missing == []
    assert report.latency_ms.p50 == 300
