"""Outbound times and what the log says of heartbeats (issue 10, smaller items).

Every outbound time is RFC 3339 in the board's time zone to the millisecond (one helper,
`messages.board_time`): status `since`, ping `at`, `set_brightness` `until`, heartbeat and
event times. The full heartbeat goes to the log at DEBUG; INFO gets a state line when the
board's state changes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support import AgentProcess, Broker, Observer, board_topic, wait_online, write_config

BOARD_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+07:00$")
CMD, RESULTS = board_topic("cmd"), board_topic("cmd/result")


def test_board_time_is_the_board_zone_to_the_millisecond() -> None:
    from agent.messages import board_time

    moment = datetime(2026, 11, 27, 2, 0, 0, 123456, tzinfo=UTC)
    assert board_time(moment) == "2026-11-27T09:00:00.123+07:00"
    assert board_time(moment + timedelta(microseconds=999)) == "2026-11-27T09:00:00.124+07:00"


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Observer, AgentProcess]]:
    directory = tmp_path_factory.mktemp("times")
    broker = Broker(directory)
    broker.start()
    observer = Observer(broker.port, [board_topic("#")]).connect()
    agent = AgentProcess(
        write_config(directory, port=broker.port, heartbeat_s=1), directory / "a.log"
    )
    agent.start()
    wait_online(observer, timeout=30)
    yield observer, agent
    agent.kill()
    observer.close()
    broker.kill()


def command(observer: Observer, command_id: str, name: str, **args: object) -> dict[str, Any]:
    mark = observer.mark()
    body = {"type": "command", "id": command_id, "command": name, "args": args}
    observer.publish(CMD, json.dumps(body))
    found = observer.wait_for(
        lambda m: m.topic == RESULTS and m.json()["id"] == command_id, start=mark
    )
    result: dict[str, Any] = found.json()  # parsed JSON
    assert result["ok"], result
    return result


@pytest.mark.e2e
def test_status_ping_and_brightness_times_are_board_time_with_milliseconds(
    board: tuple[Observer, AgentProcess],
) -> None:
    observer, _agent = board
    status = observer.wait_for(lambda m: m.topic == board_topic("status")).json()
    assert BOARD_TIME.match(status["since"]), status
    ping = command(observer, "t-ping", "ping")
    assert BOARD_TIME.match(ping["data"]["at"]), ping
    dim = command(observer, "t-dim", "set_brightness", percent=40, for_s=60)
    assert BOARD_TIME.match(dim["data"]["until"]), dim
    beat = observer.wait_for(lambda m: m.topic == board_topic("heartbeat")).json()
    assert BOARD_TIME.match(beat["sent_at"]), beat


@pytest.mark.e2e
def test_heartbeats_are_logged_in_full_at_debug_only_and_state_changes_at_info(
    board: tuple[Observer, AgentProcess],
) -> None:
    observer, agent = board
    start = observer.mark()
    for _ in range(3):  # three more heartbeats with nothing changing
        mark = observer.mark()
        observer.wait_for(lambda m: m.topic == board_topic("heartbeat"), start=mark)
    beats = len(observer.find(lambda m: m.topic == board_topic("heartbeat")))
    log = agent.log()
    assert " heartbeat {" not in log
    state_lines = re.findall(r"INFO agent\.core: heartbeat \d+: (.*)", log)
    assert state_lines, log
    assert len(state_lines) < beats, state_lines
    assert "display headless 640x360 power on" in state_lines[-1]
    assert observer.find(lambda m: m.topic == board_topic("heartbeat"), start=start)
