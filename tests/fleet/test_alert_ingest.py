"""Alerts into the fleet's store (fleet/alert_ingest.py), with a real SQLite database and
the payloads boards read: JSON alerts, CAP documents, JWS of either, and junk."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.trust.signing import generate_key_files, load_signing_key, sign_message
from fleet.alert_ingest import record_alert_event, record_publication
from fleet.reach import reach_report
from fleet.store.db import Store
from fleet.store.models import Alert, AlertReceipt, Board
from tests.cap_documents import cap_alert

ROOT = "signage/v1"
T0 = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)
NOW = T0 + timedelta(seconds=2)
DISTRICT_TOPIC = f"{ROOT}/alert/district/ba-dinh/bao-so-3"
SQUARE = "21.0,105.8 21.0,105.9 21.1,105.9 21.1,105.8 21.0,105.8"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    made = Store(f"sqlite:///{tmp_path / 'fleet.db'}")
    made.create_schema()
    yield made
    made.close()


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
        **changes,
    }
    return json.dumps(data, ensure_ascii=False).encode()


def publish(store: Store, topic: str, payload: bytes, now: datetime = NOW) -> str | None:
    with store.session() as session:
        return record_publication(session, topic, payload, ROOT, now)


def stored(store: Store, alert_id: str) -> Alert:
    with store.session() as session:
        row = session.get(Alert, alert_id)
        assert row is not None
        return row


def test_a_json_alert_is_kept_with_its_topics_scope(store: Store) -> None:
    assert publish(store, DISTRICT_TOPIC, json_alert()) == "bao-so-3"
    row = stored(store, "bao-so-3")
    assert (row.scope, row.scope_value, row.topic) == ("district", "ba-dinh", DISTRICT_TOPIC)
    assert (row.sent, row.published_at) == (T0, NOW)
    assert (row.severity, row.status, row.headline) == ("severe", "actual", "Bão số 3 đổ bộ")
    assert row.areas is None
    assert row.ended_at is None


def test_an_empty_retained_payload_ends_the_alert_on_that_topic(store: Store) -> None:
    publish(store, DISTRICT_TOPIC, json_alert())
    later = NOW + timedelta(minutes=5)
    assert publish(store, DISTRICT_TOPIC, b"", later) == "bao-so-3"
    assert stored(store, "bao-so-3").ended_at == later
    assert publish(store, f"{ROOT}/alert/city/nothing-here", b"") is None


def test_a_json_cancel_ends_it_and_keeps_what_it_said(store: Store) -> None:
    publish(store, DISTRICT_TOPIC, json_alert())
    publish(store, DISTRICT_TOPIC, json_alert(msg_type="cancel", headline="Huỷ"))
    row = stored(store, "bao-so-3")
    assert row.ended_at == NOW
    assert row.headline == "Bão số 3 đổ bộ"


def test_a_cap_alert_keeps_its_areas_and_updates_and_cancels_name_the_incident(
    store: Store,
) -> None:
    area = f"""<areaDesc>Ba Đình</areaDesc><polygon>{SQUARE}</polygon>
      <circle>21.03,105.85 5</circle>
      <geocode><valueName>VN</valueName><value>00004</value></geocode>"""
    first = cap_alert("hn-2026-0001", T0, area=area)
    topic = f"{ROOT}/alert/city/hn-2026-0001"
    assert publish(store, topic, first) == "hn-2026-0001"
    row = stored(store, "hn-2026-0001")
    assert row.scope == "city"
    assert row.scope_value is None
    assert (row.severity, row.status) == ("severe", "actual")
    assert row.areas == [
        {
            "geocodes": ["00004"],
            "polygons": [
                [[21.0, 105.8], [21.0, 105.9], [21.1, 105.9], [21.1, 105.8], [21.0, 105.8]]
            ],
            "circles": [[21.03, 105.85, 5.0]],
        }
    ]
    # An Update on its own topic names the incident by its first message, as boards do.
    update = cap_alert(
        "hn-2026-0002",
        T0 + timedelta(minutes=10),
        msg_type="Update",
        references=(("hn-2026-0001", T0),),
        headline="Bão số 3 mạnh lên",
        severity="Extreme",
    )
    assert publish(store, f"{ROOT}/alert/city/hn-2026-0002", update) == "hn-2026-0001"
    row = stored(store, "hn-2026-0001")
    assert (row.severity, row.headline, row.sent) == ("extreme", "Bão số 3 mạnh lên", T0)
    assert row.areas is None  # the update's info has no areas: shown everywhere
    cancel = cap_alert(
        "hn-2026-0003",
        T0 + timedelta(minutes=20),
        msg_type="Cancel",
        references=(("hn-2026-0001", T0), ("hn-2026-0002", T0 + timedelta(minutes=10))),
    )
    later = NOW + timedelta(minutes=20)
    assert publish(store, f"{ROOT}/alert/city/hn-2026-0003", cancel, later) == "hn-2026-0001"
    assert stored(store, "hn-2026-0001").ended_at == later


@pytest.mark.parametrize("inner", ["json", "cap"])
def test_a_signed_alert_is_read_without_checking_the_signature(
    store: Store, tmp_path: Path, inner: str
) -> None:
    generate_key_files("pctt-2026", tmp_path)
    key = load_signing_key(tmp_path / "pctt-2026.key")
    payload = json_alert() if inner == "json" else cap_alert("bao-so-3", T0)
    signed = sign_message(key, payload).encode()
    assert publish(store, DISTRICT_TOPIC, signed) == "bao-so-3"
    assert stored(store, "bao-so-3").severity == "severe"


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (DISTRICT_TOPIC, b"not json"),
        (DISTRICT_TOPIC, b"\xff\xfe{"),
        (DISTRICT_TOPIC, b'{"type": "alert"}'),
        (DISTRICT_TOPIC, json_alert(surprise=1)),
        (DISTRICT_TOPIC, b"<alert>not cap</alert>"),
        (DISTRICT_TOPIC, b"eyJhbGciOiJFZERTQSJ9.e30.AAAA"),
        (DISTRICT_TOPIC, b"{" + b" " * (1024 * 1024 + 1) + b"}"),
        (DISTRICT_TOPIC, b"[" * 100_000),
        (f"{ROOT}/content/city", json_alert()),
    ],
)
def test_bad_input_is_one_warning_and_nothing_stored(
    store: Store, topic: str, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="fleet.alert_ingest"):
        assert publish(store, topic, payload) is None
    assert len(caplog.records) == 1
    assert len(caplog.records[0].getMessage()) < 800
    with store.session() as session:
        assert session.query(Alert).count() == 0


def started(board_id: str, **details: Any) -> dict[str, Any]:
    return {
        "type": "event",
        "kind": "alert.started",
        "at": (T0 + timedelta(milliseconds=700)).isoformat(),
        "alert_id": "bao-so-3",
        "severity": "severe",
        "sent": T0.isoformat(),
        "received_at": (T0 + timedelta(milliseconds=600)).isoformat(),
        "latency_ms": None,
        **details,
    }


def test_receipts_from_events_and_the_report_over_them(store: Store) -> None:
    with store.session() as session:
        session.add(Board(board_id="hn-01", first_seen_at=T0, state="online", district="ba-dinh"))
        session.add(Board(board_id="hn-02", first_seen_at=T0, state="online", district="ba-dinh"))
    publish(store, DISTRICT_TOPIC, json_alert())
    with store.session() as session:
        assert record_alert_event(session, "hn-01", started("hn-01", latency_ms=450), NOW)
        # A board never heard of before: its row appears, state unknown.
        assert record_alert_event(session, "hn-09", started("hn-09"), NOW) == "bao-so-3"
        ended = {"type": "event", "kind": "alert.ended", "at": NOW.isoformat()}
        record_alert_event(
            session, "hn-01", {**ended, "alert_id": "bao-so-3", "reason": "cancel"}, NOW
        )
        assert record_alert_event(session, "hn-01", {"kind": "playback.started"}, NOW) is None
        assert record_alert_event(session, "hn-01", {"kind": "alert.started"}, NOW) is None
    with store.session() as session:
        assert session.get(Board, "hn-09").state == "unknown"  # type: ignore[union-attr]
        receipt = session.get(AlertReceipt, ("bao-so-3", "hn-01"))
        assert receipt is not None
        assert (receipt.latency_ms, receipt.ended_at, receipt.end_reason) == (450, NOW, "cancel")
        alert = session.get(Alert, "bao-so-3")
        assert alert is not None
        report = reach_report(
            alert, session.query(Board).all(), session.query(AlertReceipt).all(), NOW
        )
    assert report.boards_in_scope == ["hn-01", "hn-02"]
    assert report.boards_showing == ["hn-01", "hn-09"]
    assert report.missing == ["hn-02"]
    assert report.showing_out_of_scope == ["hn-09"]
    assert report.latency_ms.max == 450


def test_an_event_for_an_alert_never_seen_published_creates_it(store: Store) -> None:
    with store.session() as session:
        record_alert_event(session, "hn-01", started("hn-01"), NOW)
    row = stored(store, "bao-so-3")
    assert row.scope is None
    assert (row.severity, row.sent) == ("severe", T0)
    with store.session() as session:
        receipt = session.get(AlertReceipt, ("bao-so-3", "hn-01"))
        assert receipt is not None
        assert receipt.started_at == T0 + timedelta(milliseconds=600)  # received_at, not at


def test_a_test_alert_acknowledged_counts_as_a_receipt(store: Store) -> None:
    publish(store, DISTRICT_TOPIC, json_alert(status="test"))
    ack = {"type": "event", "kind": "alert.test", "at": NOW.isoformat(), "alert_id": "bao-so-3"}
    with store.session() as session:
        assert record_alert_event(session, "hn-01", {**ack, "severity": "severe"}, NOW)
        receipt = session.get(AlertReceipt, ("bao-so-3", "hn-01"))
        assert receipt is not None
        assert (receipt.started_at, receipt.latency_ms) == (NOW, None)
