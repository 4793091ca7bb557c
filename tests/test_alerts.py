"""The alert lifecycle and rotation, table-driven, with time as an argument."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent.alerts import (
    Acknowledged,
    AlertBook,
    AlertRotation,
    Ended,
    Ignored,
    Started,
    Updated,
    full_screen,
)
from agent.messages import Alert

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2026, 11, 27, 14, 5, tzinfo=TZ)


def alert(alert_id: str = "bao-so-3", **changes: Any) -> Alert:
    data: dict[str, Any] = {
        "type": "alert",
        "id": alert_id,
        "msg_type": "alert",
        "status": "actual",
        "sender": "hanoi-civil-defense",
        "sent": T0,
        "expires": T0 + timedelta(hours=12),
        "severity": "severe",
        "urgency": "immediate",
        "headline": "Bão số 3 đổ bộ",
        "description": "Gió mạnh cấp 10.",
    }
    data.update(changes)
    return Alert.model_validate(data)


def kinds(outcomes: list[Any]) -> list[str]:
    return [type(o).__name__ for o in outcomes]


@pytest.mark.parametrize(
    ("sequence", "expected_last", "active_after"),
    [
        ([alert()], ["Started"], ["bao-so-3"]),
        (
            [alert(), alert(sent=T0 + timedelta(minutes=5), msg_type="update")],
            ["Updated"],
            ["bao-so-3"],
        ),
        ([alert(), alert(sent=T0 + timedelta(minutes=5), msg_type="cancel")], ["Ended"], []),
        ([alert(sent=T0 + timedelta(minutes=5)), alert()], ["Ignored"], ["bao-so-3"]),  # older
        ([alert(), alert()], ["Replayed"], ["bao-so-3"]),  # retained replay: only counted
        ([alert(msg_type="cancel")], ["Ignored"], []),  # cancel of an unknown alert
        ([alert(status="test")], ["Acknowledged"], []),  # acknowledged, not shown
        ([alert(expires=T0 - timedelta(minutes=1), sent=T0 - timedelta(hours=1))], ["Ignored"], []),
        (
            [
                alert(),
                alert(
                    msg_type="update",
                    sent=T0 + timedelta(minutes=1),
                    expires=T0 + timedelta(minutes=2),
                ),
            ],
            ["Ended"],
            [],
        ),
        ([alert(sent=T0 + timedelta(minutes=9), msg_type="cancel"), alert()], ["Ignored"], []),
        ([alert(msg_type="update")], ["Started"], ["bao-so-3"]),  # missed the original
        ([alert(status="exercise")], ["Started"], ["bao-so-3"]),
        # One `sent` (CAP times have one-second resolution): cancel > update > alert.
        ([alert(), alert(msg_type="cancel")], ["Ended"], []),
        ([alert(), alert(msg_type="update", headline="Bão mạnh lên")], ["Updated"], ["bao-so-3"]),
        ([alert(msg_type="cancel"), alert()], ["Ignored"], []),
        ([alert(msg_type="update"), alert()], ["Ignored"], ["bao-so-3"]),
        ([alert(), alert(headline="Bão số 3 (sửa)")], ["Ignored"], ["bao-so-3"]),
    ],
    ids=[
        "new",
        "update",
        "cancel",
        "out-of-order",
        "replay",
        "cancel-unknown",
        "test",
        "expired-on-arrival",
        "update-already-expired",
        "stale-after-cancel",
        "update-without-original",
        "exercise",
        "cancel-same-second",
        "update-same-second",
        "alert-after-its-cancel-same-second",
        "alert-after-its-update-same-second",
        "another-alert-same-second",
    ],
)
def test_lifecycle(
    sequence: list[Alert], expected_last: list[str], active_after: list[str]
) -> None:
    book = AlertBook()
    now = T0 + timedelta(minutes=10)
    outcomes: list[Any] = []
    for message in sequence:
        outcomes = book.receive(message, now)
    assert kinds(outcomes) == expected_last
    assert [a.id for a in book.active()] == active_after


def test_ended_reasons_expiry_and_deletion() -> None:
    book = AlertBook()
    book.receive(alert("a", expires=T0 + timedelta(hours=1)), T0)
    book.receive(alert("b"), T0)
    assert book.next_expiry() == T0 + timedelta(hours=1)
    assert book.expire(T0 + timedelta(minutes=59)) == []
    expired = book.expire(T0 + timedelta(hours=1))
    assert len(expired) == 1
    assert isinstance(expired[0], Ended)
    assert expired[0].reason == "expired"
    deleted = book.delete("b")
    assert isinstance(deleted[0], Ended)
    assert deleted[0].reason == "deleted"
    assert book.delete("b") == []
    assert book.active() == []


def test_ignored_reasons_say_why() -> None:
    book = AlertBook()
    book.receive(alert(sent=T0 + timedelta(minutes=5)), T0)
    older = book.receive(alert(), T0)
    assert isinstance(older[0], Ignored)
    assert "older" in older[0].reason
    unknown = book.receive(alert("khac", msg_type="cancel"), T0)
    assert isinstance(unknown[0], Ignored)
    assert "not active" in unknown[0].reason
    test = book.receive(alert("thu", status="test"), T0)
    assert isinstance(test[0], Acknowledged)
    assert isinstance(book.receive(alert("moi"), T0)[0], Started)
    assert isinstance(book.receive(alert("moi", sent=T0 + timedelta(seconds=1)), T0)[0], Updated)


def test_most_severe_first_and_full_screen_classes() -> None:
    book = AlertBook()
    book.receive(alert("minor", severity="minor"), T0)
    book.receive(alert("extreme", severity="extreme"), T0)
    book.receive(alert("moderate", severity="moderate"), T0)
    book.receive(alert("severe", severity="severe"), T0)
    assert [a.id for a in book.active()] == ["extreme", "severe", "moderate", "minor"]
    assert [full_screen(a) for a in book.active()] == [True, True, False, False]
    assert full_screen(alert(severity="minor", layout="alert_full"))
    assert not full_screen(alert(severity="extreme", layout="alert_banner"))


def test_rotation_takes_turns_and_preempts() -> None:
    rotation = AlertRotation(slot_s=15)
    severe_a = alert("a", severity="severe")
    severe_b = alert("b", severity="severe", sent=T0 - timedelta(minutes=1))
    minor = alert("m", severity="minor")
    assert rotation.update(T0, [severe_a, severe_b, minor]) == (True, True)
    assert rotation.full is not None
    assert rotation.full.alert.id == "a"
    assert rotation.banner is not None
    assert rotation.banner.alert.id == "m"
    assert rotation.update(T0 + timedelta(seconds=14), [severe_a, severe_b, minor]) == (
        False,
        False,
    )
    assert rotation.next_wakeup() == T0 + timedelta(seconds=15)
    rotation.update(T0 + timedelta(seconds=15), [severe_a, severe_b, minor])
    assert rotation.full is not None
    assert rotation.full.alert.id == "b"
    extreme = alert("x", severity="extreme")
    assert rotation.update(T0 + timedelta(seconds=16), [extreme, severe_a, severe_b, minor])[0]
    assert rotation.full is not None
    assert rotation.full.alert.id == "x"
    rotation.update(T0 + timedelta(seconds=17), [minor])
    assert rotation.full is None
    assert rotation.banner is not None
    rotation.update(T0 + timedelta(seconds=18), [])
    assert rotation.banner is None
    assert rotation.next_wakeup() is None
