"""Remote operations end to end: commands through a real broker, systemd notify/watchdog."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path
from typing import Any

import pygame
import pytest

from tests.support import (
    COMMUNE_TOPIC,
    AgentProcess,
    Broker,
    Observer,
    board_topic,
    event_matcher,
    playlist,
    text_item,
    wait_online,
    write_config,
)
from tests.test_sdnotify import NotifySocket

pytestmark = pytest.mark.e2e
RESULTS = board_topic("cmd/result")


def command(observer: Observer, command_id: str, name: str, **args: Any) -> dict[str, Any]:
    mark = observer.mark()
    body = {"type": "command", "id": command_id, "command": name, "args": args}
    observer.publish(board_topic("cmd"), json.dumps(body))
    result = observer.wait_for(
        lambda m: m.topic == RESULTS and m.json()["id"] == command_id, start=mark
    )
    return dict(result.json())


def screenshot_mean(observer: Observer, command_id: str) -> float:
    mark = observer.mark()
    command(observer, command_id, "screenshot")
    shot = observer.wait_for(lambda m: m.topic == board_topic("screenshot"), start=mark)
    image = pygame.image.load(io.BytesIO(shot.payload), "shot.png")
    raw = pygame.image.tobytes(image, "RGB")
    return sum(raw) / len(raw)


def heartbeat(observer: Observer) -> dict[str, Any]:
    mark = observer.mark()
    beat = observer.wait_for(lambda m: m.topic == board_topic("heartbeat"), start=mark)
    return dict(beat.json())


def test_brightness_power_and_restart_commands(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    config = write_config(tmp_path, port=broker.port, heartbeat_s=1)
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    wait_online(observer)
    observer.publish(COMMUNE_TOPIC, playlist(1, [text_item("a", "Nước sinh hoạt", duration_s=600)]))
    observer.wait_for(event_matcher(board_topic("events"), "playback.started", item_id="a"))
    full = screenshot_mean(observer, "shot-1")

    dimmed = command(observer, "dim", "set_brightness", percent=30, for_s=600)
    assert dimmed["ok"] is True
    assert dimmed["data"]["percent"] == 30
    assert heartbeat(observer)["display"]["brightness"] == 30
    assert screenshot_mean(observer, "shot-2") < full * 0.5  # no backlight here: frame dimmed

    bad = command(observer, "dim-bad", "set_brightness", percent=150)
    assert bad["ok"] is False
    assert "args.percent" in bad["error"]

    off = command(observer, "off", "display_power", state="off")
    assert off["ok"] is True
    assert heartbeat(observer)["display"]["power"] == "off"
    assert screenshot_mean(observer, "shot-3") == 0  # blanked
    command(observer, "on", "display_power", state="on")
    assert screenshot_mean(observer, "shot-4") > 0

    reloaded = command(observer, "reload-1", "reload")
    assert reloaded["ok"] is True
    assert reloaded["data"]["layouts"] >= 7

    restart = command(observer, "restart-1", "restart")
    assert restart["ok"] is True
    assert agent.process is not None
    assert agent.process.wait(10) == 75


def test_ready_after_first_frame_and_watchdog_stops_when_the_render_loop_stalls(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    notify = NotifySocket(tmp_path / "notify.sock")
    try:
        env = {
            "NOTIFY_SOCKET": str(notify.path),
            "WATCHDOG_USEC": "1000000",
            "SIGNAGE_TEST_HOOKS": "1",
        }
        config = write_config(tmp_path, port=broker.port)
        agent = AgentProcess(config, tmp_path / "agent.log", env=env).start()
        agents.append(agent)
        ready = notify.wait_for("READY=1")
        assert notify.received[ready][1].startswith("READY=1\nSTATUS=")
        wait_online(observer)
        notify.wait_for("WATCHDOG=1")

        body = {"type": "command", "id": "stall-1", "command": "stall", "args": {"seconds": 3}}
        observer.publish(board_topic("cmd"), json.dumps(body))
        observer.wait_for(lambda m: m.topic == RESULTS and m.json()["id"] == "stall-1")
        stalled = "watchdog: no progress in render_loop_progress"
        assert stalled in agent.log()
        notify.wait_for("WATCHDOG=1", start=len(notify.received))  # pings resume
        pings = notify.pings()
        gaps = [later - earlier for earlier, later in itertools.pairwise(pings)]
        assert max(gaps) > 2.0  # period 0.5 s; none during the 3 s stall

        agent.terminate()
        notify.wait_for("STOPPING=1")
    finally:
        notify.close()
