"""A whole agent process driving a simulated LED controller through a pty, fed through a
real broker: the board's serial path end to end."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_bridge.simulator.controller import ControllerSimulator, simulator
from firmware_bridge.simulator.tpm2_panel import Tpm2Panel
from tests.support import (
    COMMUNE_TOPIC,
    AgentProcess,
    Broker,
    Observer,
    board_topic,
    event_matcher,
    playlist,
    write_config,
)

pytestmark = pytest.mark.e2e
EVENTS = board_topic("events")


@pytest.fixture
def panel(tmp_path: Path) -> Iterator[ControllerSimulator[Tpm2Panel]]:
    sim = simulator("tpm2", (64, 32), baud=921600, link=tmp_path / "ttyPanel")
    sim.start()
    yield sim
    sim.stop()


def serial_config(tmp_path: Path, broker: Broker, port: str) -> Path:
    serial = (
        f'\n[serial]\nport = "{port}"\nprotocol = "tpm2"\nbaudrate = 921600\n'
        'panel_width = 64\npanel_height = 32\ncolor = "rgb"\n'
    )
    config = write_config(tmp_path, port=broker.port, heartbeat_s=1, extra=serial)
    text = config.read_text(encoding="utf-8").replace('output = "headless"', 'output = "serial"')
    config.write_text(text, encoding="utf-8")
    return config


def test_content_reaches_the_led_panel_and_heartbeats_report_the_link(
    tmp_path: Path,
    broker: Broker,
    observer: Observer,
    agents: list[AgentProcess],
    panel: ControllerSimulator[Tpm2Panel],
) -> None:
    config = serial_config(tmp_path, broker, str(panel.link))
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    up = observer.wait_for(event_matcher(EVENTS, "serial.link_up"), timeout=20)
    assert up.json()["port"] == str(panel.link)

    item = {"id": "cup-nuoc", "layout": "led_text", "fields": {"text": "Cúp nước khu phố 3"}}
    observer.publish(COMMUNE_TOPIC, playlist(1, [item]))
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="cup-nuoc"))
    assert panel.wait_until(lambda s: any(s.shown().pixels), 20)  # something is lit
    assert panel.model.last_payload_size == 64 * 32 * 3

    mark = observer.mark()
    beat = observer.wait_for(lambda m: m.topic == board_topic("heartbeat"), start=mark).json()
    serial = beat["serial"]
    assert serial["connected"] is True
    assert serial["protocol"] == "tpm2"
    assert serial["frames_sent"] >= 1
    assert beat["display"]["output"] == "serial"
    assert beat["display"]["width"] == 64

    panel.stop()  # the adapter is pulled out
    down = observer.wait_for(event_matcher(EVENTS, "serial.link_down"), timeout=20)
    assert down.json()["port"] == str(panel.link)
    assert agent.alive()
