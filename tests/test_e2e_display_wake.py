"""A severe alert wakes a board switched off and dimmed, end to end through a real
Mosquitto (CONTRACT §6): the board's own screenshots and heartbeats say what it showed."""

from __future__ import annotations

import io
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
from tests.test_e2e_alerts import CITY_ALERT, EVENTS, alert
from tests.test_e2e_operations import command

pytestmark = pytest.mark.e2e

# One step: the whole day at 30 % (before the first step of a day, last night's holds).
DIM_ALL_DAY = '[brightness]\nschedule = [{ at = "00:00", percent = 30 }]\n'
DIMMED_MAX = round(255 * 0.3) + 1  # no backlight on a headless board: the frame is dimmed


def brightest_pixel(observer: Observer, command_id: str) -> int:
    """The brightest channel value of the frame on the board's output, from its screenshot."""
    mark = observer.mark()
    assert command(observer, command_id, "screenshot")["ok"] is True
    shot = observer.wait_for(lambda m: m.topic == board_topic("screenshot"), start=mark)
    image = pygame.image.load(io.BytesIO(shot.payload), "shot.png")
    return max(pygame.image.tobytes(image, "RGB"))


def display(observer: Observer) -> tuple[str, int, bool]:
    """The display section of the next heartbeat: power, brightness, woken by an alert."""
    mark = observer.mark()
    beat = observer.wait_for(lambda m: m.topic == board_topic("heartbeat"), start=mark)
    shown: dict[str, Any] = beat.json()["display"]
    return shown["power"], shown["brightness"], shown["woken_by_alert"]


def test_a_severe_alert_on_a_board_switched_off_and_dimmed_is_shown_at_full_brightness(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    config = write_config(tmp_path, port=broker.port, heartbeat_s=1, extra=DIM_ALL_DAY)
    agents.append(AgentProcess(config, tmp_path / "agent.log").start())
    wait_online(observer)
    content = playlist(1, [text_item("a", "Lịch tiêm chủng", duration_s=600)])
    observer.publish(COMMUNE_TOPIC, content)
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="a"))
    dimmed = brightest_pixel(observer, "shot-dim")
    assert 0 < dimmed <= DIMMED_MAX
    assert command(observer, "off", "display_power", state="off")["ok"] is True
    assert brightest_pixel(observer, "shot-off") == 0
    assert display(observer) == ("off", 30, False)

    mark = observer.mark()
    observer.publish(CITY_ALERT, alert("bao-so-3"), retain=True)
    observer.wait_for(
        event_matcher(EVENTS, "playback.started", item_id="bao-so-3", layout="alert_full"),
        start=mark,
    )
    assert brightest_pixel(observer, "shot-alert") == 255  # the alert frame, not dimmed
    assert display(observer) == ("on", 100, True)

    mark = observer.mark()
    observer.publish(CITY_ALERT, alert("bao-so-3", msg_type="cancel"), retain=True)
    observer.wait_for(event_matcher(EVENTS, "alert.ended", alert_id="bao-so-3"), start=mark)
    assert brightest_pixel(observer, "shot-after") == 0  # off again
    assert display(observer) == ("off", 30, False)
    assert command(observer, "on", "display_power", state="on")["ok"] is True
    assert brightest_pixel(observer, "shot-on") == dimmed  # and dim again
    observer.publish(CITY_ALERT, b"", retain=True)
