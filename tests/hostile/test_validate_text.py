"""Hostile text and strict JSON through a real broker and a real agent (issues 10, 21):
a lone surrogate in a command id, control characters in an alert's sender, a duplicate
`status` key in an alert. Each gets one clear rejection naming the field; no traceback
reaches the log; the agent keeps answering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support import (
    ROOT,
    AgentProcess,
    Broker,
    Observer,
    board_topic,
    event_matcher,
    wait_online,
    write_config,
)

pytestmark = pytest.mark.e2e
EVENTS = board_topic("events")
CMD = board_topic("cmd")
RESULTS = board_topic("cmd/result")


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Observer, AgentProcess]]:
    directory = tmp_path_factory.mktemp("hostile-text")
    broker = Broker(directory)
    broker.start()
    observer = Observer(broker.port, [board_topic("#")]).connect()
    agent = AgentProcess(write_config(directory, port=broker.port), directory / "agent.log")
    agent.start()
    wait_online(observer, timeout=30)
    yield observer, agent
    agent.kill()
    observer.close()
    broker.kill()


def ping_answered(observer: Observer, mark: int) -> None:
    """The agent is alive and through with whatever was sent before."""
    ping_id = f"ping-{mark}"
    observer.publish(CMD, json.dumps({"type": "command", "id": ping_id, "command": "ping"}))
    observer.wait_for(lambda m: m.topic == RESULTS and m.json()["id"] == ping_id, start=mark)


def alert(**changes: object) -> dict[str, object]:
    now = datetime.now(UTC).replace(microsecond=0)
    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "alert-city-storm.json"
    base: dict[str, object] = json.loads(example.read_text(encoding="utf-8"))
    base.update(sent=now.isoformat(), expires=(now + timedelta(hours=1)).isoformat())
    base.update(changes)
    return base


def test_a_lone_surrogate_in_a_command_id_is_rejected_without_a_traceback(
    board: tuple[Observer, AgentProcess],
) -> None:
    observer, agent = board
    mark = observer.mark()
    observer.publish(CMD, b'{"type":"command","id":"\\ud800","command":"ping"}')
    rejected = observer.wait_for(event_matcher(EVENTS, "content.rejected"), start=mark).json()
    assert [e["path"] for e in rejected["errors"]] == ["id"]
    assert "lone surrogate" in rejected["errors"][0]["message"]
    ping_answered(observer, mark)
    # No result can be addressed to an id that is not one.
    assert [m.json()["id"] for m in observer.find(lambda m: m.topic == RESULTS, mark)] == [
        f"ping-{mark}"
    ]
    assert "Traceback" not in agent.log()
    assert agent.alive()


def test_control_characters_in_an_alert_sender_are_rejected(
    board: tuple[Observer, AgentProcess],
) -> None:
    observer, agent = board
    mark = observer.mark()
    body = alert(id="sender-ctl", sender="civil\u001b[2Jdefense")
    observer.publish(f"{ROOT}/alert/city/sender-ctl", json.dumps(body), retain=True)
    rejected = observer.wait_for(event_matcher(EVENTS, "content.rejected"), start=mark).json()
    assert [e["path"] for e in rejected["errors"]] == ["sender"]
    assert "control character U+001B" in rejected["errors"][0]["message"]
    ping_answered(observer, mark)
    assert not observer.find(event_matcher(EVENTS, "alert.started"), start=mark)
    assert "Traceback" not in agent.log()


def test_a_duplicate_status_does_not_start_a_real_alert(
    board: tuple[Observer, AgentProcess],
) -> None:
    observer, agent = board
    mark = observer.mark()
    text = json.dumps(alert(id="dup-status", status="test"), ensure_ascii=False)
    text = text.replace('"status": "test"', '"status": "test", "status": "actual"')
    observer.publish(f"{ROOT}/alert/city/dup-status", text.encode(), retain=True)
    rejected = observer.wait_for(event_matcher(EVENTS, "content.rejected"), start=mark).json()
    assert rejected["errors"] == [
        {"path": "status", "message": "duplicate key 'status' (given 2 times)"}
    ]
    ping_answered(observer, mark)
    assert not observer.find(event_matcher(EVENTS, "alert.started"), start=mark)
    assert not observer.find(event_matcher(EVENTS, "alert.test"), start=mark)
    assert "Traceback" not in agent.log()
    assert agent.alive()
