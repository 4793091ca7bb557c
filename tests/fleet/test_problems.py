"""The board problem rules (fleet/problems.py), one rule at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fleet.problems import board_problems

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def codes(state: str = "online", age_s: float | None = 5, errors: int = 0, **hb: Any) -> list[str]:
    heartbeat: dict[str, Any] = {
        "mqtt": {"outbox": 0, "denied": 0},
        "display": {"missing_glyphs": 0},
        "system": {"clock_synced": True},
        "serial": None,
    }
    heartbeat.update(hb)
    last = None if age_s is None else NOW - timedelta(seconds=age_s)
    found = board_problems(
        state=state,
        heartbeat=heartbeat,
        last_heartbeat_at=last,
        recent_display_errors=errors,
        now=NOW,
    )
    return [p.code for p in found]


def test_a_healthy_board_has_no_problems() -> None:
    assert codes() == []


def test_offline() -> None:
    assert codes(state="offline") == ["offline"]


def test_a_heartbeat_older_than_three_intervals_is_stale() -> None:
    assert codes(age_s=90) == []
    assert codes(age_s=91) == ["heartbeat_stale"]
    assert codes(age_s=None) == ["heartbeat_stale"]
    assert codes(state="offline", age_s=9999) == ["offline"]  # offline says it already


def test_an_outbox_backlog_counts_while_connected_or_when_large() -> None:
    assert codes(mqtt={"outbox": 1}) == ["outbox_backlog"]
    assert codes(state="offline", mqtt={"outbox": 100}) == ["offline"]
    assert codes(state="offline", mqtt={"outbox": 101}) == ["offline", "outbox_backlog"]


def test_denied_publishes_missing_glyphs_clock_and_serial() -> None:
    assert codes(mqtt={"denied": 3}) == ["publish_denied"]
    assert codes(display={"missing_glyphs": 2}) == ["missing_glyphs"]
    assert codes(system={"clock_synced": False}) == ["clock_not_synced"]
    assert codes(serial={"connected": False}) == ["serial_disconnected"]
    assert codes(serial={"connected": True}) == []


def test_recent_display_errors() -> None:
    assert codes(errors=2) == ["display_errors"]


def test_fields_an_older_board_lacks_or_garbles_are_not_judged() -> None:
    assert codes(mqtt="?", display=None, system={"clock_synced": "no"}, serial=[1]) == []
    assert codes(mqtt={"outbox": True, "denied": "many"}) == []


def test_messages_are_vietnamese_then_english() -> None:
    (problem,) = board_problems(
        state="offline", heartbeat=None, last_heartbeat_at=None, recent_display_errors=0, now=NOW
    )
    assert problem.message == "Mất kết nối / Offline"
