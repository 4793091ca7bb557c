"""CAP 1.2 on the alert topics (CONTRACT §6): incidents through `references`, status and
targeting, the same-`sent` rule, restarts — through the real desk and a real store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from agent.alert_desk import AlertDesk, AlertSettings
from agent.alert_slots import EXERCISE_LABEL, alert_fields
from agent.alerts import full_screen
from agent.caches import AlertStore
from agent.messages import (
    AlertEnded,
    AlertIgnored,
    AlertStarted,
    AlertTest,
    AlertUpdated,
    EventBase,
)
from agent.validation import InvalidInput
from tests.cap_documents import cap_alert, example

ICT = timezone(timedelta(hours=7))
T0 = datetime(2026, 9, 6, 10, 0, tzinfo=ICT)  # the storm example's first `sent`
NOW = T0 + timedelta(seconds=2)
FIRST, UPDATE, CANCEL = "HN-PCTT-2026-0906-001", "HN-PCTT-2026-0906-002", "HN-PCTT-2026-0907-003"
SQUARE = (
    "<areaDesc>Phường</areaDesc>"
    "<polygon>21.0,105.8 21.0,105.9 21.1,105.9 21.1,105.8 21.0,105.8</polygon>"
)


def desk(tmp_path: Path, **settings: Any) -> AlertDesk:
    return AlertDesk(
        AlertStore(tmp_path),
        lambda _message: None,
        AlertSettings(**settings),
        clock_synced=lambda: True,
    )


def kinds(events: list[EventBase]) -> list[str]:
    return [json.loads(event.model_dump_json())["kind"] for event in events]


def one(events: list[EventBase]) -> Any:
    assert len(events) == 1, events
    return events[0]


def test_the_storm_incident_alert_update_cancel_on_three_topics(tmp_path: Path) -> None:
    board = desk(tmp_path)
    started = one(board.on_payload("bao-so-3", example("vn-storm-bao-so-3"), NOW))
    assert isinstance(started, AlertStarted)
    assert (started.alert_id, started.message_id, started.severity) == (FIRST, FIRST, "extreme")
    assert started.sent == T0
    assert started.received_at == NOW
    assert started.latency_ms == 2000
    shown = board.book.get(FIRST)
    assert shown is not None
    assert shown.headline is not None
    assert shown.headline.startswith("Bão số 3 đổ bộ")  # the vi-VN <info>, not the en-US
    assert (shown.risk_level, shown.sender_name) == (
        4,
        "Ban Chỉ huy Phòng chống thiên tai TP Hà Nội",
    )
    assert full_screen(shown)

    later = datetime(2026, 9, 6, 16, 0, 1, tzinfo=ICT)
    updated = one(board.on_payload("bao-so-3-b", example("vn-storm-bao-so-3-update"), later))
    assert isinstance(updated, AlertUpdated)
    assert (updated.alert_id, updated.message_id) == (FIRST, UPDATE)
    shown = board.book.get(FIRST)
    assert shown is not None
    assert shown.headline == "Bão số 3 mạnh lên: gió cấp 12, giật cấp 14"
    assert shown.risk_level == 5

    end = datetime(2026, 9, 7, 9, 30, 1, tzinfo=ICT)
    ended = one(board.on_payload("ket-thuc", example("vn-storm-bao-so-3-cancel"), end))
    assert isinstance(ended, AlertEnded)
    assert (ended.alert_id, ended.message_id, ended.reason) == (FIRST, CANCEL, "cancel")
    assert board.active_ids() == []


def test_a_cancel_in_the_same_second_as_its_alert_ends_it(tmp_path: Path) -> None:
    # The measured defect: the cancel was taken for a replay and dropped without an event.
    board = desk(tmp_path)
    board.on_payload("a", cap_alert("A-1", T0, expires=T0 + timedelta(hours=3)), NOW)
    cancel = cap_alert("A-2", T0, msg_type="Cancel", references=(("A-1", T0),), infos=0)
    ended = one(board.on_payload("b", cancel, NOW))
    assert isinstance(ended, AlertEnded)
    assert ended.alert_id == "A-1"
    assert board.active_ids() == []
    # … and the alert replayed after it (retained, on reconnect) does not come back.
    again = one(
        board.on_payload(
            "a", cap_alert("A-1", T0, expires=T0 + timedelta(hours=3), headline="x"), NOW
        )
    )
    assert isinstance(again, AlertIgnored)
    assert "does not outrank" in again.reason
    assert board.active_ids() == []


def test_the_same_bytes_again_are_a_replay_counted_not_said(tmp_path: Path) -> None:
    board = desk(tmp_path)
    payload = example("vn-storm-bao-so-3")
    assert kinds(board.on_payload("bao-so-3", payload, NOW)) == ["alert.started"]
    for _ in range(3):
        assert board.on_payload("bao-so-3", payload, NOW) == []
    assert board.health().replays == 3


@pytest.mark.parametrize(
    ("status", "expected", "reason"),
    [
        ("System", "alert.ignored", "System"),
        ("Draft", "alert.ignored", "Draft"),
        ("Test", "alert.test", None),
        ("Exercise", "alert.started", None),
    ],
)
def test_status(tmp_path: Path, status: str, expected: str, reason: str | None) -> None:
    board = desk(tmp_path)
    payload = cap_alert("S-1", T0, status=status, expires=T0 + timedelta(hours=1))
    event = one(board.on_payload("s", payload, NOW))
    assert kinds([event]) == [expected]
    if reason is not None:
        assert isinstance(event, AlertIgnored)
        assert reason in event.reason
    if isinstance(event, AlertTest):
        assert board.active_ids() == []
    if status == "Exercise":
        alert = board.book.get("S-1")
        assert alert is not None
        assert alert_fields(alert)["label"] == EXERCISE_LABEL
    elif status != "Test":
        assert board.active_ids() == []


@pytest.mark.parametrize(
    ("urgency", "full"),
    [("Immediate", True), ("Expected", False), ("Unknown", False)],
)
def test_unknown_severity_and_certainty_are_a_banner_unless_immediate(
    tmp_path: Path, urgency: str, full: bool
) -> None:
    board = desk(tmp_path)
    payload = cap_alert("U-1", T0, severity="Unknown", certainty="Unknown", urgency=urgency)
    assert kinds(board.on_payload("u", payload, NOW)) == ["alert.started"]
    alert = board.book.get("U-1")
    assert alert is not None
    assert alert.severity == "unknown"
    assert full_screen(alert) is full


def test_without_expires_the_default_expiry_applies(tmp_path: Path) -> None:
    board = desk(tmp_path, default_expiry_s=600)
    board.on_payload("e", cap_alert("E-1", T0), NOW)
    alert = board.book.get("E-1")
    assert alert is not None
    assert alert.expires == T0 + timedelta(seconds=600)
    assert kinds(board.expire(T0 + timedelta(seconds=600))) == ["alert.ended"]


@pytest.mark.parametrize(
    ("settings", "shown", "untargeted"),
    [
        ({}, True, True),
        ({"area_codes": ("00070",)}, True, False),  # the example's geocode
        ({"area_codes": ("99999",)}, False, False),
        ({"location": (21.03, 105.85)}, True, False),  # inside the polygon
        ({"location": (10.78, 106.70)}, False, False),  # Hồ Chí Minh City
    ],
)
def test_targeting(tmp_path: Path, settings: dict[str, Any], shown: bool, untargeted: bool) -> None:
    board = desk(tmp_path, **settings)
    event = one(board.on_payload("bao-so-3", example("vn-storm-bao-so-3"), NOW))
    if shown:
        assert isinstance(event, AlertStarted)
    else:
        assert isinstance(event, AlertIgnored)
        assert event.reason == "outside its areas"
    assert board.health().untargeted is untargeted


def test_an_update_that_no_longer_covers_the_board_ends_it_here(tmp_path: Path) -> None:
    board = desk(tmp_path, location=(21.05, 105.85))
    board.on_payload("a", cap_alert("A-1", T0, area=SQUARE), NOW)
    elsewhere = SQUARE.replace("105.8", "106.8").replace("105.9", "106.9")
    later = T0 + timedelta(minutes=5)
    update = cap_alert("A-2", later, msg_type="Update", references=(("A-1", T0),), area=elsewhere)
    ended = one(board.on_payload("a", update, later))
    assert isinstance(ended, AlertEnded)
    assert (ended.alert_id, ended.message_id) == ("A-1", "A-2")


def test_messages_that_reference_unknown_ones(tmp_path: Path) -> None:
    board = desk(tmp_path)
    update = cap_alert("B-2", T0, msg_type="Update", references=(("B-1", T0 - timedelta(hours=1)),))
    started = one(board.on_payload("b", update, NOW))
    assert isinstance(started, AlertStarted)  # tracked as the incident it references
    assert (started.alert_id, started.message_id) == ("B-1", "B-2")
    cancel = cap_alert("C-2", T0, msg_type="Cancel", references=(("C-1", T0),), infos=0)
    ignored = one(board.on_payload("c", cancel, NOW))
    assert isinstance(ignored, AlertIgnored)
    assert ignored.alert_id == "C-1"
    assert "not active" in ignored.reason


def test_after_a_restart_an_update_and_a_cancel_find_their_incident(tmp_path: Path) -> None:
    desk(tmp_path).on_payload("bao-so-3", example("vn-storm-bao-so-3"), NOW)
    board = desk(tmp_path)
    restored = one(board.load(NOW))
    assert isinstance(restored, AlertStarted)
    assert restored.latency_ms is None
    later = datetime(2026, 9, 6, 16, 0, 1, tzinfo=ICT)
    updated = one(board.on_payload("khac", example("vn-storm-bao-so-3-update"), later))
    assert isinstance(updated, AlertUpdated)
    assert updated.alert_id == FIRST
    board = desk(tmp_path)
    board.load(later)
    end = datetime(2026, 9, 7, 9, 30, 1, tzinfo=ICT)
    ended = one(board.on_payload("ket-thuc", example("vn-storm-bao-so-3-cancel"), end))
    assert isinstance(ended, AlertEnded)
    assert ended.alert_id == FIRST


def test_an_empty_retained_payload_deletes_what_its_topic_brought(tmp_path: Path) -> None:
    board = desk(tmp_path)
    board.on_payload("bao-so-3", example("vn-storm-bao-so-3"), NOW)
    ended = one(board.on_payload("bao-so-3", b"", NOW))
    assert isinstance(ended, AlertEnded)
    assert (ended.alert_id, ended.reason) == (FIRST, "deleted")


def test_latency_is_null_while_the_clock_is_not_synchronised(tmp_path: Path) -> None:
    board = AlertDesk(AlertStore(tmp_path), lambda _m: None, clock_synced=lambda: False)
    started = one(board.on_payload("bao-so-3", example("vn-storm-bao-so-3"), NOW))
    assert isinstance(started, AlertStarted)
    assert started.latency_ms is None
    assert started.sent == T0


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        (b"<alert>", "$"),
        (example("vn-storm-bao-so-3").replace(b"<sender>pctt@hanoi.gov.vn</sender>", b""), "alert"),
        (cap_alert("has@at", T0), "alert/identifier"),
        (b'{"type": "alert"', "$"),
    ],
    ids=["not-xml", "no-sender", "identifier-not-an-id", "bad-json"],
)
def test_bad_payloads_are_refused_and_change_nothing(
    tmp_path: Path, payload: bytes, path: str
) -> None:
    board = desk(tmp_path)
    with pytest.raises(InvalidInput) as refused:
        board.on_payload("x", payload, NOW)
    assert any(problem.path.startswith(path) for problem in refused.value.errors)
    assert board.active_ids() == []
    assert board.health().replays == 0


def json_alert(**changes: Any) -> bytes:
    data: dict[str, Any] = {
        "type": "alert",
        "id": "bao-so-3",
        "msg_type": "alert",
        "status": "actual",
        "sender": "hanoi-civil-defense",
        "sent": T0.isoformat(),
        "expires": (T0 + timedelta(hours=6)).isoformat(),
        "severity": "severe",
        "urgency": "immediate",
        "headline": "Bão số 3 đổ bộ",
        "description": "Gió mạnh cấp 10.",
    }
    data.update(changes)
    return json.dumps(data, ensure_ascii=False).encode()


def test_a_json_cancel_in_the_same_second_ends_its_alert(tmp_path: Path) -> None:
    board = desk(tmp_path)
    assert kinds(board.on_payload("bao-so-3", json_alert(), NOW)) == ["alert.started"]
    ended = one(board.on_payload("bao-so-3", json_alert(msg_type="cancel"), NOW))
    assert isinstance(ended, AlertEnded)
    assert ended.reason == "cancel"
    assert ended.message_id is None  # a JSON alert has no CAP message
    assert board.active_ids() == []
