"""The broker's limits: a message bigger than its maximum packet size costs the
connection at most once (never, when the broker announces its limit), and a screenshot
too large is scaled down or refused with the reason (issues 10 and 19)."""

from __future__ import annotations

import json
import logging
import queue
from pathlib import Path
from typing import Any

import pytest

from agent.clock import SystemClock
from agent.config import MqttConfig
from agent.link import MqttLink
from agent.topics import Topics
from tests.support import (
    BOARD,
    COMMUNE_TOPIC,
    AgentProcess,
    Broker,
    Message,
    Observer,
    board_topic,
    event_matcher,
    playlist,
    text_item,
    wait_online,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.e2e
RESULTS = board_topic("cmd/result")
HEARTBEAT = board_topic("heartbeat")
TOPICS = Topics("signage/v1", BOARD["district"], BOARD["commune"], BOARD["id"])
LIMIT = 6000  # a 640×360 frame of text is a PNG of some 10–20 kB


@pytest.fixture
def small_broker(tmp_path: Path) -> Any:
    broker = Broker(tmp_path, f"allow_anonymous true\nmax_packet_size {LIMIT}\n")
    broker.start()
    yield broker
    broker.kill()


def command(observer: Observer, command_id: str, name: str) -> dict[str, Any]:
    mark = observer.mark()
    body = {"type": "command", "id": command_id, "command": name, "args": {}}
    observer.publish(board_topic("cmd"), json.dumps(body))
    result = observer.wait_for(
        lambda m: m.topic == RESULTS and m.json()["id"] == command_id, start=mark, timeout=20
    )
    return dict(result.json())


def live_heartbeat(observer: Observer) -> dict[str, Any]:
    mark = observer.mark()

    def live(m: Message) -> bool:
        return m.topic == HEARTBEAT and m.json()["mqtt"]["connected_since"] is not None

    return dict(observer.wait_for(live, start=mark, timeout=15).json())


def busy_frame(observer: Observer) -> None:
    # Many different glyphs: a PNG that does not compress to nothing.
    text = " ".join(f"Thông báo {n}: lịch cắt điện khu vực {n * 37 % 101}" for n in range(40))
    observer.publish(COMMUNE_TOPIC, playlist(1, [text_item("dai", text, duration_s=600)]))
    observer.wait_for(event_matcher(board_topic("events"), "playback.started", item_id="dai"))


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_screenshot_larger_than_the_maximum_packet_size_never_costs_the_connection(
    tmp_path: Path, small_broker: Broker, agents: list[AgentProcess], protocol: str
) -> None:
    # MQTT 5: Mosquitto announces its limit in CONNACK. MQTT 3.1.1: it cannot, so the
    # technician writes it in the config (docs/technician.md).
    extra = f'protocol = "{protocol}"\n'
    if protocol != "5":
        extra += f"max_packet_size = {LIMIT}\n"
    config = write_config(tmp_path, port=small_broker.port, heartbeat_s=1, mqtt_extra=extra)
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    observer = Observer(small_broker.port, [board_topic("#")]).connect()
    try:
        wait_online(observer, timeout=15)
        busy_frame(observer)
        for n in range(3):
            result = command(observer, f"shot-{protocol}-{n}", "screenshot")
            if result["ok"]:
                assert result["data"]["scaled_from"] == [640, 360]
                assert result["data"]["bytes"] < LIMIT
                shot = observer.find(lambda m: m.topic == board_topic("screenshot"))
                assert shot
                assert len(shot[-1].payload) < LIMIT
            else:
                assert "too large for the broker" in result["error"]
        beat = live_heartbeat(observer)
        assert beat["mqtt"]["reconnects"] == 0
        assert "connection lost" not in agent.log()
        assert "oversize packet" not in small_broker.log.read_text()
    finally:
        observer.close()


def test_an_unannounced_limit_costs_the_connection_once_then_is_known(
    tmp_path: Path, small_broker: Broker, agents: list[AgentProcess]
) -> None:
    """MQTT 3.1.1 and no limit in the config: the broker closes the connection without a
    reason; the link learns the size from the packet it was sending, drops that packet
    (paho would resend it after reconnecting, forever) and sends nothing that big again."""
    config = write_config(
        tmp_path, port=small_broker.port, heartbeat_s=1, mqtt_extra='protocol = "3.1.1"\n'
    )
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    observer = Observer(small_broker.port, [board_topic("#")]).connect()
    try:
        wait_online(observer, timeout=15)
        busy_frame(observer)
        first = command(observer, "shot-a", "screenshot")
        assert first["ok"] is True  # the agent did not know: it sent it
        agent.wait_log("broker dropped the connection for a", timeout=15)
        for n in range(3):
            later = command(observer, f"shot-b{n}", "screenshot")
            assert later["ok"] is False or later["data"]["bytes"] < LIMIT
        beat = live_heartbeat(observer)
        assert beat["mqtt"]["too_large"] == 1
        assert "dropped the connection" in beat["mqtt"]["last_error"]
        log = small_broker.log.read_text()
        assert log.count("oversize packet") == 1, log
    finally:
        observer.close()


def test_a_broker_without_retained_messages_gets_a_clear_error_and_unretained_presence(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Mosquitto `retain_available false`: it refuses a CONNECT whose Will is retained
    (0x9A); the board connects again without retain and says what that costs."""
    broker = Broker(tmp_path, "allow_anonymous true\nretain_available false\n")
    broker.start()
    inbox: queue.Queue[Any] = queue.Queue()
    cfg = MqttConfig.model_validate(
        {"host": "127.0.0.1", "port": broker.port, "reconnect_min_s": 0.2, "protocol": "5"}
    )
    link = MqttLink(cfg, BOARD["id"], TOPICS, inbox, SystemClock())
    observer = Observer(broker.port, [board_topic("status")]).connect()
    try:
        link.start()
        wait_until(lambda: link.connected, 15, "a connection without retain")
        status = observer.wait_for(lambda m: m.topic == board_topic("status"), timeout=10)
        assert status.json()["state"] == "online"
        assert status.retain is False
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert any("does not keep retained messages" in e for e in errors), errors
        assert link.limits.retain_available is False
        assert "Retain not supported" in (link.last_error or "") or "retained" in (
            link.last_error or ""
        )
    finally:
        link.stop(timeout=0.5)
        observer.close()
        broker.kill()
