"""Faults: the broker goes away and comes back; the agent is killed and starts offline."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import (
    COMMUNE_TOPIC,
    AgentProcess,
    Broker,
    Observer,
    board_topic,
    event_matcher,
    is_online,
    playlist,
    text_item,
    write_config,
)

pytestmark = pytest.mark.e2e
EVENTS = board_topic("events")
STATUS = board_topic("status")


def test_broker_restart_reconnects_resubscribes_and_shows_new_content(
    tmp_path: Path, broker: Broker, agents: list[AgentProcess]
) -> None:
    agent = AgentProcess(write_config(tmp_path, port=broker.port), tmp_path / "agent.log").start()
    agents.append(agent)
    observer = Observer(broker.port, [board_topic("#")]).connect()
    observer.wait_for(is_online)
    observer.publish(
        COMMUNE_TOPIC, playlist(1, [text_item("truoc", "Trước sự cố", duration_s=600)])
    )
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="truoc"))
    observer.close()

    broker.kill()
    agent.wait_log("connection lost")
    time.sleep(0.5)  # an outage of some length: the agent retries against a closed port
    broker.start()

    observer = Observer(broker.port, [board_topic("#")]).connect()
    try:
        # Retained presence was lost with the broker; the agent must publish it again.
        observer.wait_for(is_online, timeout=15)
        observer.publish(COMMUNE_TOPIC, playlist(2, [text_item("sau", "Sau sự cố")]))
        observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="sau"))
    finally:
        observer.close()
    assert agent.alive()


def test_last_will_marks_the_board_offline_when_the_agent_dies(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    agent = AgentProcess(write_config(tmp_path, port=broker.port), tmp_path / "agent.log").start()
    agents.append(agent)
    observer.wait_for(is_online)
    agent.kill()
    will = observer.wait_for(
        lambda m: m.topic == STATUS and m.json()["state"] == "offline", timeout=20
    )
    assert will.json() == {"state": "offline", "reason": "connection-lost"}


def test_sigkill_then_start_without_broker_shows_last_content_within_2_s(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    config = write_config(tmp_path, port=broker.port, size=(1920, 1080))
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    observer.wait_for(is_online)
    observer.publish(
        COMMUNE_TOPIC, playlist(9, [text_item("da-luu", "Đã lưu trên thẻ nhớ", duration_s=600)])
    )
    observer.wait_for(event_matcher(EVENTS, "content.accepted", version=9))
    agent.kill()  # SIGKILL: no clean shutdown
    broker.kill()  # and no broker when it comes back

    again = AgentProcess(config, tmp_path / "again.log").start()
    agents.append(again)
    again.wait_log('"item_id":"da-luu"', timeout=10)
    shown_after = time.monotonic() - again.started_at
    assert "playback.started" in again.log()
    assert shown_after <= 2.0, f"cached content took {shown_after:.2f} s to show"
