"""Reject amplification (issue 10): a rejected payload well under the payload limit used to
come back as a `content.rejected` event several times its size; with a broker that takes
packets up to a limit (Mosquitto `max_packet_size`), the event was refused, the connection
dropped, and the outbox replayed it at every reconnect and after every restart: the board
stayed off the dashboard.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import (
    COMMUNE_TOPIC,
    AgentProcess,
    Broker,
    Observer,
    board_topic,
    event_matcher,
    wait_online,
    write_config,
)

pytestmark = pytest.mark.e2e

EVENTS, HEARTBEAT = board_topic("events"), board_topic("heartbeat")
BROKER_MAX_PACKET = 100_000


def amplifying_payload(keys: int) -> bytes:
    """Thousands of unknown keys: each one an error of ~60 bytes for ~8 bytes sent."""
    data: dict[str, object] = {
        "type": "playlist",
        "version": 1,
        "issued_at": "2026-11-27T07:30:00+07:00",
        "items": [],
    }
    for n in range(keys):
        data[f"k{n}"] = 0
    return json.dumps(data, separators=(",", ":")).encode()


def test_a_rejection_bigger_than_its_payload_still_reaches_the_dashboard(
    tmp_path: Path, agents: list[AgentProcess]
) -> None:
    broker = Broker(tmp_path, f"allow_anonymous true\nmax_packet_size {BROKER_MAX_PACKET}\n")
    broker.start()
    try:
        observer = Observer(broker.port, [board_topic("#")]).connect()
        try:
            config = write_config(tmp_path, port=broker.port, heartbeat_s=1)
            agent = AgentProcess(config, tmp_path / "agent.log").start()
            agents.append(agent)
            wait_online(observer, timeout=20)
            payload = amplifying_payload(4000)
            assert len(payload) < BROKER_MAX_PACKET // 2  # the broker takes it easily
            mark = observer.mark()
            observer.publish(COMMUNE_TOPIC, payload)
            rejected = observer.wait_for(
                event_matcher(EVENTS, "content.rejected"), timeout=20, start=mark
            )
            assert len(rejected.payload) < 16 * 1024
            errors = rejected.json()["errors"]
            assert errors[-1]["message"].endswith("more")
            # And the board stays on the dashboard: heartbeats go on, no reconnects.
            after = observer.mark()
            beat = observer.wait_for(lambda m: m.topic == HEARTBEAT, timeout=10, start=after)
            assert beat.json()["mqtt"]["reconnects"] == 0
            assert "Traceback" not in agent.log()
        finally:
            observer.close()
    finally:
        broker.kill()


@pytest.fixture
def roomy_broker(tmp_path: Path) -> Iterator[Broker]:
    """Mosquitto drops QoS 1 messages beyond 1000 queued for a slow subscriber (the
    observer): unlimited here, so that every message counts."""
    broker = Broker(tmp_path, "allow_anonymous true\nmax_queued_messages 0\n")
    broker.start()
    yield broker
    broker.kill()


def test_an_alert_event_overtakes_a_backlog_of_thousands(
    tmp_path: Path, roomy_broker: Broker, agents: list[AgentProcess]
) -> None:
    """After an outage the outbox holds a backlog; the alert the board receives on
    reconnecting reaches the dashboard ahead of it, not after it (issue 10)."""
    broker = roomy_broker
    observer = Observer(broker.port, [board_topic("#")]).connect()
    try:
        backlog_overtaken(tmp_path, broker, observer, agents)
    finally:
        observer.close()


def backlog_overtaken(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    backlog = 5000
    state = tmp_path / "state"
    state.mkdir()
    lines = (
        json.dumps({"topic": EVENTS, "payload": json.dumps({"type": "event", "n": n})}) + "\n"
        for n in range(backlog)
    )
    (state / "outbox.jsonl").write_text("".join(lines))
    alert = {
        "type": "alert",
        "id": "bao-so-3",
        "msg_type": "alert",
        "status": "actual",
        "sender": "hanoi-civil-defense",
        "sent": "2026-11-27T14:05:00+07:00",
        "expires": "2099-11-27T14:05:00+07:00",
        "severity": "extreme",
        "urgency": "immediate",
        "headline": "Bão số 3",
        "description": "Gió mạnh.",
    }
    observer.publish("signage/v1/alert/city/bao-so-3", json.dumps(alert), retain=True)
    config = write_config(tmp_path, port=broker.port, heartbeat_s=5)
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    started = observer.wait_for(event_matcher(EVENTS, "alert.started"), timeout=30)
    try:
        last = observer.wait_for(
            lambda m: m.topic == EVENTS and m.json().get("n") == backlog - 1, timeout=60
        )
    except AssertionError:
        got = [
            m.json()["n"] for m in observer.find(lambda m: m.topic == EVENTS and "n" in m.json())
        ]
        raise AssertionError(
            f"got {len(got)}: {got[:5]}…{got[-5:]}\n{agent.log()[-3000:]}"
        ) from None
    assert started.at < last.at, "the alert event waited behind the backlog"
    ns = [m.json()["n"] for m in observer.find(lambda m: m.topic == EVENTS and "n" in m.json())]
    assert ns == sorted(ns)  # the backlog itself stays in order
