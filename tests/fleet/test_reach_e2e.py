"""End to end through a real Mosquitto with two real agents (issue 15): a severe alert on
a district topic reaches the board in that district and not the other, and the reach
report built from what the broker carried says 1/1 in scope, with a latency."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fleet.alert_ingest import record_alert_event, record_publication
from fleet.reach import reach_report
from fleet.store.db import Store
from fleet.store.models import Alert, AlertReceipt, Board
from tests.support import (
    BOARD,
    ROOT,
    AgentProcess,
    Broker,
    Message,
    Observer,
    event_matcher,
    write_config,
)

pytestmark = pytest.mark.e2e

IN_DISTRICT = "hn-badinh-01"
ELSEWHERE = "hn-hoankiem-01"
ALERT_TOPIC = f"{ROOT}/alert/district/ba-dinh/bao-so-3"


def start_board(
    tmp_path: Path, broker: Broker, agents: list[AgentProcess], board_id: str, district: str
) -> None:
    home = tmp_path / board_id
    home.mkdir()
    config = write_config(home, port=broker.port, heartbeat_s=1, size=(160, 90), district=district)
    config.write_text(config.read_text("utf-8").replace(BOARD["id"], board_id), "utf-8")
    agents.append(AgentProcess(config, home / "agent.log").start())


def heartbeat_of(board_id: str) -> str:
    return f"{ROOT}/board/{board_id}/heartbeat"


def heartbeat_from(board_id: str) -> Callable[[Message], bool]:
    return lambda m: m.topic == heartbeat_of(board_id)


def storm(sent: datetime) -> bytes:
    return json.dumps(
        {
            "type": "alert",
            "id": "bao-so-3",
            "msg_type": "alert",
            "status": "actual",
            "sender": "hanoi-civil-defense",
            "sent": sent.isoformat(),
            "expires": (sent + timedelta(hours=1)).isoformat(),
            "severity": "severe",
            "urgency": "immediate",
            "headline": "Bão số 3 đổ bộ",
            "description": "Gió mạnh cấp 10.",
        },
        ensure_ascii=False,
    ).encode()


def board_row(beat: Message, now: datetime) -> Board:
    """What ingest keeps of a heartbeat for reach: where the board belongs."""
    body = beat.json()
    place = body["assignment"]
    location = place["location"]
    return Board(
        board_id=body["board_id"],
        first_seen_at=now,
        state="online",
        district=place["district"],
        commune=place["commune"],
        groups=place["groups"],
        area_codes=place["area_codes"],
        latitude=location[0] if location else None,
        longitude=location[1] if location else None,
    )


def test_a_district_alert_reaches_its_district_with_a_latency(
    tmp_path: Path, broker: Broker, agents: list[AgentProcess]
) -> None:
    observer = Observer(broker.port, [f"{ROOT}/board/+/#", f"{ROOT}/alert/#"]).connect()
    try:
        start_board(tmp_path, broker, agents, IN_DISTRICT, "ba-dinh")
        start_board(tmp_path, broker, agents, ELSEWHERE, "hoan-kiem")
        beats = [observer.wait_for(heartbeat_from(b), timeout=30) for b in (IN_DISTRICT, ELSEWHERE)]
        store = Store(f"sqlite:///{tmp_path / 'fleet.db'}")
        store.create_schema()
        with store.session() as session:
            for beat in beats:
                session.add(board_row(beat, datetime.now(UTC)))

        mark = observer.mark()
        published_at = datetime.now(UTC)
        observer.publish(ALERT_TOPIC, storm(published_at), retain=True)
        events = f"{ROOT}/board/{IN_DISTRICT}/events"
        shown = observer.wait_for(event_matcher(events, "alert.started"), start=mark, timeout=20)
        # The other board's next heartbeat, after the first one showed it: nothing active.
        after = observer.mark()
        other = observer.wait_for(heartbeat_from(ELSEWHERE), start=after, timeout=10)
        assert other.json()["alerts_active"] == []

        [publication] = observer.find(lambda m: m.topic == ALERT_TOPIC, start=mark)
        received = [
            m
            for m in observer.find(lambda m: m.topic.endswith("/events"), start=mark)
            if m.json().get("kind", "").startswith("alert.")
        ]
        assert received == [shown]
        with store.session() as session:
            now = datetime.now(UTC)
            record_publication(session, publication.topic, publication.payload, ROOT, now)
            for message in received:
                board_id = message.topic.split("/")[-2]
                assert record_alert_event(session, board_id, message.json(), now) == "bao-so-3"
        with store.session() as session:
            alert = session.get(Alert, "bao-so-3")
            assert alert is not None
            report = reach_report(
                alert, session.query(Board).all(), session.query(AlertReceipt).all(), now
            )
        store.close()
    finally:
        observer.close()

    assert report.boards_in_scope == [IN_DISTRICT]
    assert report.boards_showing == [IN_DISTRICT]
    assert report.missing == []
    assert (report.in_scope_count, report.showing_count) == (1, 1)
    assert report.latency_ms.p50 is not None
    assert report.latency_ms.max == report.latency_ms.p50
    assert report.severity == "severe"
