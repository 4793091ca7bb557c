"""Reject amplification (issue 10): a rejected payload well under the payload limit used to
come back as a `content.rejected` event several times its size; with a broker that takes
packets up to a limit (Mosquitto `max_packet_size`), the event was refused, the connection
dropped, and the outbox replayed it at every reconnect and after every restart: the board
stayed off the dashboard.
"""

from __future__ import annotations

import json
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
