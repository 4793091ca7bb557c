"""The end-to-end core cases against more than one broker and protocol version (issue 19).

Mosquitto speaking MQTT 5, Mosquitto held to MQTT 3.1.1 (`[mqtt] protocol = "3.1.1"`), and
amqtt — an independent implementation that speaks only 3.1.1 — with a board left on the
default `protocol = "auto"`: it must find out by itself and come online.
Each run: content, a severe alert and its cancel, a command, heartbeats, an outage.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import (
    COMMUNE_TOPIC,
    ROOT,
    AgentProcess,
    AmqttBroker,
    Broker,
    Message,
    Observer,
    board_topic,
    event_matcher,
    is_online,
    playlist,
    text_item,
    write_config,
)
from tests.test_e2e_alerts import alert

pytestmark = pytest.mark.e2e
EVENTS = board_topic("events")
HEARTBEAT = board_topic("heartbeat")
RESULTS = board_topic("cmd/result")
CITY_ALERT = f"{ROOT}/alert/city/bao-so-3"


@dataclass(frozen=True)
class Setup:
    name: str
    broker: str  # "mosquitto" or "amqtt"
    protocol: str  # the board's [mqtt] protocol
    speaks: str  # what the board must end up speaking


SETUPS = [
    Setup("mosquitto-mqtt5", "mosquitto", "5", "5"),
    Setup("mosquitto-mqtt311", "mosquitto", "3.1.1", "3.1.1"),
    Setup("amqtt-auto", "amqtt", "auto", "3.1.1"),
]


@pytest.fixture(params=SETUPS, ids=[s.name for s in SETUPS])
def setup(request: pytest.FixtureRequest) -> Setup:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def any_broker(setup: Setup, tmp_path: Path) -> Iterator[Broker | AmqttBroker]:
    found: Broker | AmqttBroker = (
        Broker(tmp_path) if setup.broker == "mosquitto" else AmqttBroker(tmp_path)
    )
    found.start()
    yield found
    found.kill()


def heartbeat_after(observer: Observer, mark: int, timeout: float = 15) -> dict[str, Any]:
    """The first heartbeat after `mark` made while connected (spooled ones come first)."""

    def live(m: Message) -> bool:
        return m.topic == HEARTBEAT and m.json()["mqtt"]["connected_since"] is not None

    return dict(observer.wait_for(live, start=mark, timeout=timeout).json())


def test_core_cases_on_each_broker(
    tmp_path: Path, setup: Setup, any_broker: Broker | AmqttBroker, agents: list[AgentProcess]
) -> None:
    observer = Observer(any_broker.port, [board_topic("#")]).connect()
    try:
        config = write_config(
            tmp_path,
            port=any_broker.port,
            heartbeat_s=1,
            mqtt_extra=f'protocol = "{setup.protocol}"\nconnect_timeout_s = 3\n',
        )
        agent = AgentProcess(config, tmp_path / "agent.log").start()
        agents.append(agent)
        # A fresh board comes online by itself.
        observer.wait_for(is_online, timeout=30)
        beat = heartbeat_after(observer, observer.mark())
        assert beat["mqtt"]["protocol"] == setup.speaks
        assert beat["mqtt"]["connected_since"] is not None

        # Content.
        observer.publish(
            COMMUNE_TOPIC,
            playlist(1, [text_item("tin", "Lịch tiêm chủng", duration_s=600)]),
            retain=True,
        )
        observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="tin"), timeout=15)

        # A severe alert takes the screen; its cancel gives it back.
        observer.publish(CITY_ALERT, alert("bao-so-3"), retain=True)
        observer.wait_for(event_matcher(EVENTS, "alert.started", alert_id="bao-so-3"), timeout=15)
        mark = observer.mark()
        assert heartbeat_after(observer, mark)["now_showing"]["channel"] == "alert"
        observer.publish(CITY_ALERT, alert("bao-so-3", msg_type="cancel"), retain=True)
        observer.wait_for(
            event_matcher(EVENTS, "alert.ended", alert_id="bao-so-3", reason="cancel"), timeout=15
        )

        # A command is answered.
        body = {"type": "command", "id": f"ping-{setup.name}", "command": "ping", "args": {}}
        observer.publish(board_topic("cmd"), json.dumps(body))
        result = observer.wait_for(
            lambda m: m.topic == RESULTS and m.json()["id"] == body["id"], timeout=15
        )
        assert result.json()["ok"] is True

        # An outage: the broker goes away and comes back; the board reconnects by itself.
        observer.close()
        any_broker.kill()
        agent.wait_log("connection lost", timeout=20)
        time.sleep(0.5)
        any_broker.start()
        observer = Observer(any_broker.port, [board_topic("#")]).connect()
        observer.wait_for(is_online, timeout=30)
        observer.publish(COMMUNE_TOPIC, playlist(2, [text_item("sau", "Sau sự cố")]), retain=True)
        observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="sau"), timeout=15)
        beat = heartbeat_after(observer, observer.mark())
        assert beat["mqtt"]["reconnects"] >= 1
        assert beat["mqtt"]["protocol"] == setup.speaks
        if setup.protocol == "auto" and setup.speaks == "3.1.1":
            log = agent.log()
            assert "falling back to MQTT 3.1.1" in log
            assert log.count("falling back to MQTT 3.1.1") == 1  # remembered for the session
        assert agent.alive()
    finally:
        observer.close()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_a_command_sent_while_the_board_is_down_arrives_in_both_versions(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess], protocol: str
) -> None:
    """The broker keeps the board's session: MQTT 5 by its session expiry (3600 s), MQTT
    3.1.1 by clean session off. The same behaviour, by two means."""
    config = write_config(tmp_path, port=broker.port, mqtt_extra=f'protocol = "{protocol}"\n')
    first = AgentProcess(config, tmp_path / "first.log").start()
    agents.append(first)
    observer.wait_for(is_online, timeout=15)
    assert first.terminate() == 0
    body = {"type": "command", "id": f"while-down-{protocol}", "command": "ping", "args": {}}
    observer.publish(board_topic("cmd"), json.dumps(body))  # nobody connected for it
    mark = observer.mark()
    again = AgentProcess(config, tmp_path / "again.log").start()
    agents.append(again)
    result = observer.wait_for(
        lambda m: m.topic == RESULTS and m.json()["id"] == body["id"], start=mark, timeout=20
    )
    assert result.json()["ok"] is True
