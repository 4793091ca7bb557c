"""End to end: Mosquitto, two real agents and `signage-fleet serve` as processes, the
fleet's database (a SQLite file, then PostgreSQL) read by the test. Boards appear online
with heartbeats, go offline by their Last Will and come back; what the fleet stored
survives its own restart and the broker's; what boards sent while the fleet was stopped
waits at the broker; a screenshot command's PNG reaches the database."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import func, select

from fleet.store.db import Store
from fleet.store.models import Board, Command, HeartbeatSample, Screenshot
from tests.fleet.fleet_support import FleetProcess
from tests.support import BOARD, ROOT, AgentProcess, Broker, Observer, write_config

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

BOARDS = (BOARD["id"], "hn-badinh-phucxa-02")
T = TypeVar("T")
R = TypeVar("R", Board, Command, Screenshot)


def poll(read: Callable[[], T | None], timeout: float, what: str) -> T:
    """`read()` until it gives something, at a pace a database can take."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def row(fleet: FleetProcess, model: type[R], key: str) -> R | None:
    """The row as the fleet's database holds it now (a fresh session: a fresh snapshot)."""
    with fleet.store() as store, store.session() as session:
        return session.get(model, key)


def boards(fleet: FleetProcess) -> dict[str, Board]:
    with fleet.store() as store, store.session() as session:
        return {b.board_id: b for b in session.scalars(select(Board))}


def wait_boards(
    fleet: FleetProcess, test: Callable[[dict[str, Board]], bool], what: str, timeout: float = 30
) -> dict[str, Board]:
    def read() -> dict[str, Board] | None:
        found = boards(fleet)
        return found if test(found) else None

    return poll(read, timeout, what)


def online_with_heartbeat_after(seqs: dict[str, int]) -> Callable[[dict[str, Board]], bool]:
    def test(found: dict[str, Board]) -> bool:
        return all(
            b in found
            and found[b].state == "online"
            and (found[b].last_heartbeat_seq or -1) > seqs.get(b, -1)
            for b in BOARDS
        )

    return test


def agent_for(tmp_path: Path, broker: Broker, board_id: str) -> AgentProcess:
    directory = tmp_path / board_id
    directory.mkdir()
    config = write_config(directory, port=broker.port, heartbeat_s=1)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace(f'id = "{BOARD["id"]}"', f'id = "{board_id}"'), "utf-8")
    return AgentProcess(config, directory / "agent.log")


@pytest.fixture
def city(tmp_path: Path, db_url: str) -> Iterator[tuple[Broker, FleetProcess, list[AgentProcess]]]:
    """A broker, a fleet (on a SQLite file, then on PostgreSQL) and two boards' agents."""
    broker = Broker(tmp_path)
    broker.start()
    fleet = FleetProcess(tmp_path / "fleet", broker.port, db_url=db_url)
    agents = [agent_for(tmp_path, broker, b) for b in BOARDS]
    try:
        yield broker, fleet, agents
    finally:
        for agent in agents:
            agent.kill()
        fleet.kill()
        broker.kill()


def seqs_of(found: dict[str, Board]) -> dict[str, int]:
    return {b: found[b].last_heartbeat_seq or 0 for b in BOARDS}


def count_samples(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(HeartbeatSample)) or 0)


def test_the_fleet_follows_real_boards_through_outages_and_restarts(
    city: tuple[Broker, FleetProcess, list[AgentProcess]],
) -> None:
    broker, fleet, agents = city
    fleet.start().wait_subscribed()
    for agent in agents:
        agent.start()

    found = wait_boards(fleet, online_with_heartbeat_after({}), "both boards online")
    for b in BOARDS:
        heartbeat = found[b].heartbeat
        assert heartbeat is not None
        assert heartbeat["board_id"] == b
        assert found[b].agent_version == heartbeat["agent_version"]
        assert found[b].groups == heartbeat["assignment"]["groups"]

    # SIGKILL: the broker publishes the board's Last Will.
    agents[1].kill()
    found = wait_boards(
        fleet,
        lambda f: f[BOARDS[1]].state == "offline",
        "the killed board offline by its Last Will",
    )
    assert found[BOARDS[1]].offline_reason == "connection-lost"
    assert found[BOARDS[0]].state == "online"
    agents[1].start()
    found = wait_boards(fleet, online_with_heartbeat_after(seqs_of(found)), "it is back")
    assert found[BOARDS[1]].offline_reason is None

    # The fleet restarts; while it is stopped a screenshot is asked of a board, and its
    # PNG and result wait at the broker in the fleet's session.
    assert fleet.terminate() == 0
    with fleet.store() as store:
        samples_before = count_samples(store)
    stopped_at = boards(fleet)
    observer = Observer(broker.port, [f"{ROOT}/board/+/cmd/result"]).connect()
    try:
        command = {"type": "command", "id": "shot-1", "command": "screenshot", "args": {}}
        observer.publish(f"{ROOT}/board/{BOARDS[0]}/cmd", json.dumps(command))
        observer.wait_for(lambda m: m.json().get("id") == "shot-1", timeout=20)
    finally:
        observer.close()
    fleet.start().wait_subscribed()
    found = wait_boards(fleet, online_with_heartbeat_after(seqs_of(stopped_at)), "new heartbeats")
    with fleet.store() as store:
        assert count_samples(store) >= samples_before
    shot = poll(lambda: row(fleet, Screenshot, BOARDS[0]), 20, "the screenshot row")
    assert shot.png.startswith(b"\x89PNG\r\n\x1a\n")
    assert (shot.width, shot.height) == (640, 360)
    result = poll(lambda: row(fleet, Command, "shot-1"), 20, "the command's result")
    assert result.ok is True
    assert result.result is not None
    assert result.result["data"]["width"] == 640

    # The broker goes down and comes back (without persistence: it forgot every session).
    before_outage = seqs_of(boards(fleet))
    broker.kill()
    fleet.mark()
    broker.start()
    fleet.wait_subscribed(timeout=60)
    found = wait_boards(
        fleet, online_with_heartbeat_after(before_outage), "heartbeats after the outage", 60
    )
    assert set(found) == set(BOARDS)
    assert row(fleet, Screenshot, BOARDS[0]) is not None  # still there
    assert fleet.terminate() == 0
