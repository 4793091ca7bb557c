"""Bad messages change nothing: one bounded WARNING naming the topic and the problem, a
count, no announcement, and every table as it was (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet import alert_ingest
from fleet.ingest_checks import MAX_JSON_BYTES
from fleet.store.db import Store
from fleet.store.models import Base, Command
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

GOOD_HEARTBEAT = heartbeat(5, START)


def changed(body: dict[str, Any], **changes: Any) -> bytes:
    return encode(body | changes)


BAD = [
    pytest.param(topic("heartbeat"), b"{not json", "not JSON", id="not-json"),
    pytest.param(topic("heartbeat"), b"\xff\xfe{}", "not UTF-8", id="not-utf8"),
    pytest.param(topic("events"), b"[1, 2]", "not a JSON object (a list)", id="a-list"),
    pytest.param(topic("events"), b"", "not JSON", id="empty-event"),
    pytest.param(
        topic("heartbeat"),
        b'{"pad": "' + b"x" * MAX_JSON_BYTES + b'"}',
        "over the limit",
        id="huge",
    ),
    pytest.param(topic("heartbeat"), b'{"a": NaN}', "NaN is not a JSON number", id="nan"),
    pytest.param(topic("heartbeat"), b"[" * 100_000, "not JSON", id="deep"),
    pytest.param(topic("heartbeat", "+"), encode(GOOD_HEARTBEAT), "is not a slug", id="wildcard"),
    pytest.param(
        topic("heartbeat", "HN-Board"), encode(GOOD_HEARTBEAT), "is not a slug", id="upper"
    ),
    pytest.param(
        topic("heartbeat", "b" * 65), encode(GOOD_HEARTBEAT), "is not a slug", id="long-id"
    ),
    pytest.param(topic("screenshot", "-x"), png(2, 2), "is not a slug", id="dash-first"),
    pytest.param(topic("cmd"), b"{}", "a board's topic ingest does not read", id="cmd"),
    pytest.param("other/v1/board/b/heartbeat", b"{}", "not under the topic root", id="root"),
    pytest.param("signage/v1/content/city", b"{}", "not a board's or an alert's", id="content"),
    pytest.param(
        topic("heartbeat"),
        changed(GOOD_HEARTBEAT, board_id="another-board"),
        "board_id 'another-board' is not the topic's board",
        id="other-board",
    ),
    pytest.param(
        topic("heartbeat"), changed(GOOD_HEARTBEAT, seq=True), "seq is not an integer", id="bool"
    ),
    pytest.param(
        topic("heartbeat"), changed(GOOD_HEARTBEAT, seq=2**40), "seq is not an integer", id="big"
    ),
    pytest.param(
        topic("heartbeat"),
        changed(GOOD_HEARTBEAT, sent_at="2026-12-02T07:00:00"),
        "sent_at has no offset",
        id="naive",
    ),
    pytest.param(
        topic("heartbeat"),
        changed(GOOD_HEARTBEAT, sent_at="yesterday"),
        "sent_at is not an RFC 3339 time",
        id="bad-time",
    ),
    pytest.param(
        topic("heartbeat"), changed(GOOD_HEARTBEAT, type="event"), "type is 'event'", id="type"
    ),
    pytest.param(
        topic("events"), changed(example("event-playback-started"), at=None), "at is missing"
    ),
    pytest.param(
        topic("status"),
        encode({"state": "sleeping"}),
        "state is 'sleeping', expected 'online' or 'offline'",
        id="state",
    ),
    pytest.param(
        topic("cmd/result"),
        changed(example("command-result-ping-ok"), ok="yes"),
        "ok is not true or false",
        id="ok",
    ),
    pytest.param(
        topic("cmd/result", "another-board"),
        changed(example("command-result-ping-ok"), id="sent-to-b"),
        "command 'sent-to-b' was sent to another board",
        id="result-from-another-board",
    ),
    pytest.param(topic("screenshot"), b"GIF89a....", "no PNG signature", id="gif"),
    pytest.param(topic("screenshot"), png(2, 2)[:20], "no IHDR header", id="truncated"),
    pytest.param(topic("screenshot"), png(20_000, 1)[:40], "not 1 to 16384", id="wide"),
    pytest.param(topic("screenshot"), png(2, 2) + b"\0" * 11 * 2**20, "over the", id="big-png"),
]


def snapshot(store: Store) -> dict[str, list[Any]]:
    with store.session() as session:
        return {
            table.name: [tuple(row) for row in session.execute(select(table))]
            for table in Base.metadata.sorted_tables
        }


@pytest.mark.parametrize(("where", "payload", "problem"), BAD)
def test_a_bad_message_is_logged_once_and_changes_nothing(
    store: Store, caplog: pytest.LogCaptureFixture, where: str, payload: bytes, problem: str
) -> None:
    ingest, changes, _clock = make_ingest(store)
    # What is already stored: a board, its heartbeat, a command sent to a board "sent-to-b".
    ingest.handle(topic("status"), encode(example("status-online")), True)
    ingest.handle(topic("heartbeat"), encode(heartbeat(4, START)), False)
    with store.session() as session:
        session.add(Command(id="sent-to-b", board_id=BOARD, command="ping", args={}, sent_at=START))
    before, seen = snapshot(store), list(changes.seen)
    caplog.clear()

    ingest.handle(where, payload, retained=False)

    assert snapshot(store) == before
    assert changes.seen == seen
    assert sum(ingest.rejected.values()) == 1
    warnings = [r for r in caplog.records if r.name == "fleet.ingest"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    line = warnings[0].getMessage()
    assert problem in line
    assert where[:40] in line
    assert len(line) < 800
    assert "\n" not in line


def test_a_flood_of_bad_messages_is_summarised(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    ingest, _changes, _clock = make_ingest(store)
    for _ in range(500):
        ingest.handle(topic("heartbeat"), b"nonsense", False)
    assert ingest.rejected["heartbeat"] == 500
    assert len([r for r in caplog.records if r.name == "fleet.ingest"]) == 20


def test_whatever_the_alert_module_raises_ingest_goes_on(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(session: Session, *_args: Any) -> str:
        session.execute(select(1))
        raise ValueError("cannot read this alert")

    monkeypatch.setattr(alert_ingest, "record_publication", broken)
    ingest, changes, _clock = make_ingest(store)
    before = snapshot(store)
    ingest.handle("signage/v1/alert/city/x", json.dumps({"type": "alert"}).encode(), True)
    assert snapshot(store) == before
    assert changes.seen == []
    assert ingest.rejected["alert"] == 1
    assert "could not be stored (ValueError: cannot read this alert)" in caplog.text
    ingest.handle(topic("heartbeat"), encode(GOOD_HEARTBEAT), False)
    assert ingest.accepted == 1
