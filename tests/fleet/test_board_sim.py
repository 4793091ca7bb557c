"""The scale bench's board simulator (bench/board_sim.py) speaks the contract: against a
real Mosquitto, simulated boards say they are online, publish heartbeats the agent's own
`Heartbeat` model accepts, and answer a city alert with a valid `alert.started`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.messages import AlertEnded, AlertStarted, Heartbeat, Status
from bench.board_sim import SimFleet, places
from tests.support import ROOT, Broker, Message, Observer

BOARDS = places("sim-test", 3)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    broker = Broker(tmp_path)
    broker.start()
    yield broker
    broker.kill()


def on(leaf: str) -> str:
    return f"{ROOT}/board/+/{leaf}"


def from_each_board(observer: Observer, leaf: str, kind: str | None = None) -> list[Message]:
    """One message per simulated board on `leaf` (of event `kind`), waited for."""
    found: dict[str, Message] = {}

    def match(m: Message) -> bool:
        if not m.topic.endswith("/" + leaf) or (kind and m.json().get("kind") != kind):
            return False
        found.setdefault(m.topic.split("/")[3], m)
        return len(found) == len(BOARDS)

    observer.wait_for(match, timeout=20)
    return list(found.values())


def test_simulated_boards_speak_the_contract(broker: Broker) -> None:
    observer = Observer(broker.port, [on("status"), on("heartbeat"), on("events")]).connect()
    fleet = SimFleet("127.0.0.1", broker.port, BOARDS, heartbeat_s=1, item_s=1).start_thread()
    try:
        from_each_board(observer, "status")
        late = Observer(broker.port, [on("status")]).connect()  # sees what the broker kept
        try:
            for message in from_each_board(late, "status"):
                assert Status.model_validate_json(message.payload).state == "online"
                assert message.retain
        finally:
            late.close()
        beats = [
            Heartbeat.model_validate_json(m.payload) for m in from_each_board(observer, "heartbeat")
        ]
        assert {beat.board_id for beat in beats} == {p.board_id for p in BOARDS}
        sent = datetime.now(UTC)
        alert = {
            "type": "alert", "id": "bao-sim", "msg_type": "alert", "status": "actual",
            "sender": "test", "sent": sent.isoformat(), "severity": "severe",
            "expires": (sent + timedelta(hours=1)).isoformat(), "urgency": "immediate",
            "headline": "Bão", "description": "Gió mạnh",
        }  # fmt: skip
        mark = observer.mark()
        observer.publish(f"{ROOT}/alert/city/bao-sim", json.dumps(alert), retain=True)
        for message in from_each_board(observer, "events", "alert.started"):
            started = AlertStarted.model_validate_json(message.payload)
            assert started.alert_id == "bao-sim"
            assert started.sent is not None
            assert abs(started.sent - sent) < timedelta(milliseconds=1)  # ms on the wire
            assert started.received_at is not None
            assert started.received_at >= sent - timedelta(seconds=1)
            assert started.latency_ms is not None
        assert len(observer.find(lambda m: b"alert.started" in m.payload, mark)) == len(BOARDS)
        observer.publish(f"{ROOT}/alert/city/bao-sim", b"", retain=True)
        for message in from_each_board(observer, "events", "alert.ended"):
            assert AlertEnded.model_validate_json(message.payload).reason == "deleted"
    finally:
        fleet.close()
        observer.close()
