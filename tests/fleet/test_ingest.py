"""Ingest of what boards publish (fleet.ingest), on SQLite and PostgreSQL: the contract's
example payloads, keys the fleet does not know kept, late and repeated messages."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fleet import alert_ingest
from fleet.store.db import Store
from fleet.store.models import Board, BoardEvent, Command, HeartbeatSample, Screenshot
from tests.fleet.ingest_support import (
    BOARD,
    START,
    encode,
    example,
    heartbeat,
    make_ingest,
    png,
    topic,
)


def board(store: Store, board_id: str = BOARD) -> Board:
    with store.session() as session:
        found = session.get(Board, board_id)
        assert found is not None
        return found


def count(store: Store, model: Any) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_status_online_then_last_will_then_the_same_retained_will_again(store: Store) -> None:
    ingest, changes, clock = make_ingest(store)
    ingest.handle(topic("status"), encode(example("status-online")), retained=True)
    online = board(store)
    assert online.state == "online"
    assert online.since == datetime(2026, 11, 26, 20, 12, 9, 412000, tzinfo=UTC)
    assert online.agent_version == "0.1.0"
    assert online.offline_reason is None
    assert changes.seen == [("board", BOARD)]

    clock.advance(60)
    will = encode(example("status-offline-connection-lost"))
    ingest.handle(topic("status"), will, retained=False)
    offline = board(store)
    assert (offline.state, offline.offline_reason, offline.since) == (
        "offline",
        "connection-lost",
        clock.now,
    )
    went_offline = clock.now
    clock.advance(3600)  # the fleet restarts and hears the retained Last Will again
    ingest.handle(topic("status"), will, retained=True)
    assert board(store).since == went_offline
    assert ingest.accepted == 3


def test_a_heartbeat_is_kept_whole_with_keys_the_fleet_does_not_know(store: Store) -> None:
    ingest, changes, _clock = make_ingest(store)
    sent = START - timedelta(seconds=1)
    body = heartbeat(
        7,
        sent,
        future_key={"added": "by a later board"},
        assignment={
            "version": 3,
            "groups": ["ven-song", "truong-hoc"],
            "district": "ba-dinh",
            "commune": "phuc-xa",
            "area_codes": ["VN-HN-001", "00123"],
            "location": [21.0478, 105.8462],
            "unknown_place_key": 1,
        },
    )
    ingest.handle(topic("heartbeat"), encode(body), retained=False)
    seen = board(store)
    assert seen.state == "unknown"  # presence comes from the status only
    assert seen.heartbeat == body
    assert seen.last_heartbeat_at == sent
    assert seen.last_heartbeat_seq == 7
    assert (seen.district, seen.commune) == ("ba-dinh", "phuc-xa")
    assert seen.groups == ["ven-song", "truong-hoc"]
    assert seen.area_codes == ["VN-HN-001", "00123"]
    assert (seen.latitude, seen.longitude) == (21.0478, 105.8462)
    assert changes.seen == [("board", BOARD)]
    with store.session() as session:
        sample = session.scalars(select(HeartbeatSample)).one()
        assert (sample.seq, sample.sent_at, sample.body) == (7, sent, body)


def test_a_bad_place_is_left_as_it_was_and_the_heartbeat_is_stored(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    ingest, _changes, _clock = make_ingest(store)
    good = {"groups": ["ven-song"], "district": "ba-dinh", "location": [21.0, 105.8]}
    ingest.handle(topic("heartbeat"), encode(heartbeat(1, START, assignment=good)), False)
    bad = {"groups": ["Not A Slug"], "district": "tay-ho", "location": [200, 0]}
    ingest.handle(topic("heartbeat"), encode(heartbeat(2, START, assignment=bad)), False)
    seen = board(store)
    assert seen.last_heartbeat_seq == 2
    assert seen.groups == ["ven-song"]
    assert seen.district == "tay-ho"  # the good key of the same assignment applies
    assert (seen.latitude, seen.longitude) == (21.0, 105.8)
    assert ingest.rejected["heartbeat.assignment"] == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "groups holds 'Not A Slug'" in warnings[0]
    assert "location" in warnings[0]


def test_late_heartbeats_from_an_outbox_fill_the_history_but_are_not_the_latest(
    store: Store,
) -> None:
    ingest, _changes, _clock = make_ingest(store, history_every_s=300)
    ingest.handle(topic("heartbeat"), encode(heartbeat(100, START)), False)
    for seq, minutes in ((90, -50), (91, -45), (92, -44)):  # held while the link was down
        late = heartbeat(seq, START + timedelta(minutes=minutes))
        ingest.handle(topic("heartbeat"), encode(late), False)
    seen = board(store)
    assert (seen.last_heartbeat_seq, seen.last_heartbeat_at) == (100, START)
    with store.session() as session:
        rows = session.scalars(select(HeartbeatSample.seq).order_by(HeartbeatSample.sent_at))
        assert list(rows) == [90, 91, 100]  # 92 is within 5 minutes of 91


def test_history_keeps_one_heartbeat_per_interval_as_the_clock_runs(store: Store) -> None:
    ingest, _changes, clock = make_ingest(store, history_every_s=300)
    for seq in range(40):  # 20 minutes of heartbeats every 30 s
        body = heartbeat(seq, clock.now)
        ingest.handle(topic("heartbeat"), encode(body), False)
        ingest.handle(topic("heartbeat"), encode(body), False)  # QoS 1: delivered twice
        clock.advance(30)
    with store.session() as session:
        rows = session.execute(
            select(HeartbeatSample.seq, HeartbeatSample.received_at).order_by(HeartbeatSample.seq)
        ).all()
    assert [seq for seq, _ in rows] == [0, 10, 20, 30]
    assert [at for _, at in rows] == [START + timedelta(minutes=m) for m in (0, 5, 10, 15)]
    assert board(store).last_heartbeat_seq == 39


def test_events_are_stored_once_and_an_alert_event_records_its_receipt(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipts: list[tuple[str, dict[str, Any], datetime]] = []

    def record(session: Session, board_id: str, event: dict[str, Any], now: datetime) -> str:
        # The event row is committed before the receipt is recorded.
        assert session.scalar(select(func.count()).select_from(BoardEvent)) == 2
        receipts.append((board_id, event, now))
        return str(event["alert_id"])

    monkeypatch.setattr(alert_ingest, "record_alert_event", record)
    ingest, changes, clock = make_ingest(store)
    played = example("event-playback-started") | {"later_key": [1, 2]}
    ingest.handle(topic("events"), encode(played), False)
    ingest.handle(topic("events"), encode(played), False)  # a QoS 1 duplicate
    started = example("event-alert-started")
    ingest.handle(topic("events"), encode(started), False)
    assert receipts == [(BOARD, started, clock.now)]
    assert changes.seen == [("board", BOARD)] * 3 + [("alert", "bao-so-3-2026-11-27")]
    with store.session() as session:
        events = session.scalars(select(BoardEvent).order_by(BoardEvent.id)).all()
        assert [(e.kind, e.body) for e in events] == [
            ("playback.started", played),
            ("alert.started", started),
        ]
        assert events[0].at == datetime(2026, 11, 27, 2, 15, 30, 42000, tzinfo=UTC)


def test_an_alert_event_is_kept_when_its_receipt_cannot_be_recorded(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: Any) -> str:
        raise RuntimeError("the reach module failed")

    monkeypatch.setattr(alert_ingest, "record_alert_event", broken)
    ingest, changes, _clock = make_ingest(store)
    ingest.handle(topic("events"), encode(example("event-alert-ended")), False)
    assert count(store, BoardEvent) == 1
    assert ingest.rejected["alert.receipt"] == 1
    assert changes.seen == [("board", BOARD)]
    assert any("receipt not recorded (RuntimeError)" in r.getMessage() for r in caplog.records)


def test_a_command_result_completes_the_command_or_records_one_sent_by_another_tool(
    store: Store,
) -> None:
    ingest, changes, clock = make_ingest(store)
    with store.session() as session:
        session.add(
            Command(
                id="dash-7f3a",
                board_id=BOARD,
                command="screenshot",
                args={},
                sent_by="lan",
                sent_at=START,
            )
        )
    clock.advance(2)
    result = example("command-result-screenshot-ok")
    ingest.handle(topic("cmd/result"), encode(result), False)
    other = example("command-result-error") | {"id": "cli-1"}
    ingest.handle(topic("cmd/result"), encode(other), False)
    with store.session() as session:
        sent = session.get(Command, "dash-7f3a")
        assert sent is not None
        assert (sent.ok, sent.result, sent.result_at, sent.sent_by) == (
            True,
            result,
            clock.now,
            "lan",
        )
        unknown = session.get(Command, "cli-1")
        assert unknown is not None
        assert (unknown.board_id, unknown.command, unknown.ok) == (BOARD, "unknown", False)
    assert ("command", "dash-7f3a") in changes.seen
    assert ("command", "cli-1") in changes.seen


def test_the_latest_screenshot_replaces_the_one_before(store: Store) -> None:
    ingest, changes, clock = make_ingest(store)
    ingest.handle(topic("screenshot"), png(64, 32), False)
    clock.advance(10)
    newer = png(640, 360)
    ingest.handle(topic("screenshot"), newer, False)
    with store.session() as session:
        shot = session.scalars(select(Screenshot)).one()
        assert (shot.board_id, shot.width, shot.height, shot.png) == (BOARD, 640, 360, newer)
        assert shot.received_at == clock.now
    assert changes.seen == [("board", BOARD)] * 2


def test_an_alert_topic_goes_to_the_alert_module(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, bytes, str, datetime]] = []

    def record(session: Session, topic: str, payload: bytes, root: str, now: datetime) -> str:
        calls.append((topic, payload, root, now))
        return "bao-so-3-2026-11-27"

    monkeypatch.setattr(alert_ingest, "record_publication", record)
    ingest, changes, clock = make_ingest(store)
    alert_topic = "signage/v1/alert/city/bao-so-3-2026-11-27"
    payload = encode(example("alert-city-storm"))
    ingest.handle(alert_topic, payload, retained=True)
    assert calls == [(alert_topic, payload, "signage/v1", clock.now)]
    assert changes.seen == [("alert", "bao-so-3-2026-11-27")]
