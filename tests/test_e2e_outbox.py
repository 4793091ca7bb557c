"""Nothing lost: heartbeats and events across broker outages and agent restarts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support import (
    AgentProcess,
    Broker,
    Observer,
    board_topic,
    is_online,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.e2e
HEARTBEAT = board_topic("heartbeat")
STATUS = board_topic("status")


def seqs(observer: Observer) -> list[int]:
    return [m.json()["seq"] for m in observer.find(lambda m: m.topic == HEARTBEAT)]


def outage(broker: Broker, agent: AgentProcess, seconds: float) -> None:
    broker.kill()
    agent.wait_log("connection lost")
    time.sleep(seconds)  # heartbeats (1 s) pile up in the outbox meanwhile


def test_every_heartbeat_arrives_in_order_after_an_outage_and_a_restart(
    tmp_path: Path, broker: Broker, agents: list[AgentProcess]
) -> None:
    # The agent waits ≥ 0.5 s before reconnecting, so the observer is subscribed first.
    config = write_config(
        tmp_path,
        port=broker.port,
        heartbeat_s=1,
        reconnect_s=(1.0, 2.0),
    )
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    before = Observer(broker.port, [board_topic("#")]).connect()
    wait_until(lambda: len(seqs(before)) >= 2, 10, "two heartbeats")
    before.close()
    received = seqs(before)

    outage(broker, agent, 2.5)
    assert agent.terminate() == 0  # restarted during the outage
    agent = AgentProcess(config, tmp_path / "again.log").start()
    agents.append(agent)
    agent.wait_log("outbox: ")  # it found the spooled messages
    time.sleep(2)  # and produced more heartbeats offline

    broker.start()
    after = Observer(broker.port, [board_topic("#")]).connect()
    try:
        after.wait_for(is_online, timeout=15)
        wait_until(lambda: len(seqs(after)) >= 6, 15, "the spooled heartbeats")
        last = max(seqs(after))
        # Produced after reconnecting: once it arrives, everything before it has too.
        wait_until(lambda: max(seqs(after)) >= last + 2, 10, "live heartbeats")
        everything = received + seqs(after)
    finally:
        after.close()
    assert sorted(set(everything)) == list(range(everything[0], max(everything) + 1)), everything
    delivered = seqs(after)
    assert delivered == sorted(delivered), "the outbox delivers oldest first"


def test_outbox_bound_drops_oldest_and_heartbeats_count_them(
    tmp_path: Path, broker: Broker, agents: list[AgentProcess]
) -> None:
    config = write_config(
        tmp_path,
        port=broker.port,
        heartbeat_s=1,
        mqtt_extra="outbox_bound = 10\n",
        reconnect_s=(1.0, 2.0),
    )
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    agent.wait_log("connected to the broker")
    broker.kill()
    agent.wait_log("outbox full: dropped", timeout=20)
    broker.start()
    observer = Observer(broker.port, [board_topic("#")]).connect()
    try:
        beat = observer.wait_for(
            lambda m: m.topic == HEARTBEAT and m.json()["mqtt"]["outbox_dropped"] > 0, timeout=20
        )
        assert beat.json()["mqtt"]["outbox_dropped"] >= 1
    finally:
        observer.close()


def test_command_ids_run_once_across_a_restart(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    config = write_config(tmp_path, port=broker.port)
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    observer.wait_for(is_online)
    command = json.dumps({"type": "command", "id": "ping-42", "command": "ping"})
    observer.publish(board_topic("cmd"), command)
    results = board_topic("cmd/result")
    observer.wait_for(lambda m: m.topic == results and m.json()["id"] == "ping-42")
    assert agent.terminate() == 0
    mark = observer.mark()
    again = AgentProcess(config, tmp_path / "again.log").start()
    agents.append(again)
    observer.wait_for(is_online, start=mark)
    observer.publish(board_topic("cmd"), command)  # the dashboard retries: not run again
    observer.publish(
        board_topic("cmd"), json.dumps({"type": "command", "id": "ping-43", "command": "ping"})
    )
    observer.wait_for(lambda m: m.topic == results and m.json()["id"] == "ping-43", start=mark)
    assert not observer.find(
        lambda m: m.topic == results and m.json()["id"] == "ping-42", start=mark
    )
    assert "already ran" in again.log()


def test_sigterm_publishes_offline_and_exits_within_2_s(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    agent = AgentProcess(write_config(tmp_path, port=broker.port), tmp_path / "a.log").start()
    agents.append(agent)
    observer.wait_for(is_online)
    mark = observer.mark()
    assert agent.terminate(timeout=2) == 0
    offline = observer.wait_for(lambda m: m.topic == STATUS, start=mark)
    body = offline.json()
    assert body.pop("since")  # when it stopped (board time)
    assert body == {"state": "offline", "reason": "shutdown"}
