"""A severe alert is seen on a board switched off or dimmed (CONTRACT §6): the pure decision,
and the core in-process with a headless output whose pixels are checked."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pygame
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.core import Agent
from agent.display_control import DisplaySetting, GivenDisplay, given_display
from agent.link_messages import Received
from agent.messages import Alert
from agent.output import HeadlessOutput
from agent.validation import decode
from tests.support import COMMUNE_TOPIC, playlist, text_item
from tests.test_core import ALERT_TOPIC, FakeClock, alert_payload, events, make_config

CMD = "signage/v1/board/hn-01/cmd"
SIZE = (320, 180)


def alert(severity: str, **changes: Any) -> Alert:
    return decode(alert_payload(severity=severity, **changes), Alert)


# --- the decision ----------------------------------------------------------------------

OFF_DIM = DisplaySetting(power_on=False, percent=30)


@pytest.mark.parametrize("severity", ["extreme", "severe"])
def test_an_extreme_or_severe_alert_gives_full_power_and_brightness(severity: str) -> None:
    given = given_display(OFF_DIM, [alert(severity)], wake_display=True)
    assert given == GivenDisplay(power_on=True, percent=100, woken_by_alert=True)


@pytest.mark.parametrize("severity", ["moderate", "minor"])
def test_a_moderate_or_minor_alert_leaves_the_setting(severity: str) -> None:
    given = given_display(OFF_DIM, [alert(severity)], wake_display=True)
    assert given == GivenDisplay(power_on=False, percent=30, woken_by_alert=False)


def test_a_severe_alert_among_minor_ones_wakes() -> None:
    active = [alert("minor", id="a"), alert("severe", id="b")]
    assert given_display(OFF_DIM, active, wake_display=True).power_on


def test_a_severe_alert_sent_as_a_banner_still_wakes_the_display() -> None:
    """It is on air (over the content), and its severity is what asks to be seen."""
    banner = alert("severe", layout="alert_banner")
    assert given_display(OFF_DIM, [banner], wake_display=True).percent == 100


def test_without_wake_display_the_setting_holds_during_a_severe_alert() -> None:
    given = given_display(OFF_DIM, [alert("extreme")], wake_display=False)
    assert given == GivenDisplay(power_on=False, percent=30, woken_by_alert=False)


def test_a_board_already_on_at_full_brightness_is_not_said_to_be_woken() -> None:
    full = DisplaySetting(power_on=True, percent=100)
    assert given_display(full, [alert("severe")], wake_display=True).woken_by_alert is False


@given(
    power_on=st.booleans(),
    percent=st.integers(0, 100),
    severities=st.lists(st.sampled_from(["extreme", "severe", "moderate", "minor"]), max_size=4),
    wake_display=st.booleans(),
)
def test_the_setting_is_given_unless_a_severe_alert_raises_it(
    power_on: bool, percent: int, severities: list[str], wake_display: bool
) -> None:
    setting = DisplaySetting(power_on, percent)
    active = [alert(severity, id=f"a{n}") for n, severity in enumerate(severities)]
    given = given_display(setting, active, wake_display=wake_display)
    raises = wake_display and bool({"extreme", "severe"} & set(severities))
    if raises:
        assert (given.power_on, given.percent) == (True, 100)
    else:
        assert (given.power_on, given.percent) == (power_on, percent)
    assert given.woken_by_alert == (raises and (not power_on or percent < 100))


# --- the core: what the output shows ----------------------------------------------------


class RecordingOutput(HeadlessOutput):
    """The headless output, keeping the brightest channel value of every frame presented."""

    def __init__(self) -> None:
        super().__init__(SIZE)
        self.presented: list[int] = []

    def present(self, areas: list[pygame.Rect] | None = None) -> None:
        super().present(areas)
        self.presented.append(brightest(self.canvas))


def brightest(surface: pygame.Surface) -> int:
    return max(pygame.image.tobytes(surface, "RGB"))


def start_agent(tmp_path: Path, clock: FakeClock, **sections: Any) -> tuple[Agent, RecordingOutput]:
    output = RecordingOutput()
    # No [mqtt]: no link is made (events go to the log only), messages are handed in.
    agent = Agent(make_config(tmp_path, mqtt=None, **sections), clock=clock, output=output)
    agent.tick()
    return agent, output


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()  # 09:00 board time


# 09:00 falls in the 06:00 step: the board runs at 30 % by day, 10 % from 22:00.
DIM_SCHEDULE = {"schedule": [{"at": "06:00", "percent": 30}, {"at": "22:00", "percent": 10}]}


@pytest.fixture
def board(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Agent, RecordingOutput]]:
    made = start_agent(tmp_path, clock, brightness=DIM_SCHEDULE)
    yield made
    made[0].fetcher.stop()
    made[0].seq.close()


def handle(agent: Agent, topic: str, body: bytes) -> None:
    agent.handle(Received(topic, body, retained=False))
    agent.tick()


def command(agent: Agent, command_id: str, name: str, **args: Any) -> None:
    body = {"type": "command", "id": command_id, "command": name, "args": args}
    handle(agent, CMD, json.dumps(body).encode())


def display(agent: Agent) -> tuple[str, int | None, bool]:
    shown = agent.heartbeat().display
    return shown.power, shown.brightness, shown.woken_by_alert


def full_brightness_alert_pixels(tmp_path: Path, clock: FakeClock) -> bytes:
    """The alert frame as a board without any dimming draws it, at the same time."""
    reference, output = start_agent(tmp_path / "reference", clock)
    try:
        handle(reference, ALERT_TOPIC, alert_payload())
        return pygame.image.tobytes(output.canvas, "RGB")
    finally:
        reference.fetcher.stop()
        reference.seq.close()


def test_a_severe_alert_on_a_board_switched_off_and_dimmed_is_shown_at_full_brightness(
    tmp_path: Path, clock: FakeClock, board: tuple[Agent, RecordingOutput]
) -> None:
    agent, output = board
    handle(agent, COMMUNE_TOPIC, playlist(1, [text_item("a", "Lịch tiêm chủng", duration_s=600)]))
    dimmed = brightest(output.canvas)
    assert 0 < dimmed <= round(255 * 0.3) + 1  # no backlight: the frame itself is dimmed
    command(agent, "off", "display_power", state="off")
    assert brightest(output.canvas) == 0
    assert display(agent) == ("off", 30, False)

    before = len(output.presented)
    handle(agent, ALERT_TOPIC, alert_payload())
    assert pygame.image.tobytes(output.canvas, "RGB") == full_brightness_alert_pixels(
        tmp_path, clock
    )
    # The first frame the woken display shows is the alert itself, at full brightness:
    # neither the content it had before nor a dimmed alert flashes up first.
    assert output.presented[before:] == [255]
    assert display(agent) == ("on", 100, True)

    handle(agent, ALERT_TOPIC, alert_payload(msg_type="cancel", sent="2026-11-27T09:00:30+07:00"))
    assert brightest(output.canvas) == 0
    assert display(agent) == ("off", 30, False)
    command(agent, "on", "display_power", state="on")
    assert brightest(output.canvas) == dimmed  # the content, dimmed as before


def test_what_changed_the_setting_during_the_alert_applies_after_it(
    clock: FakeClock, board: tuple[Agent, RecordingOutput]
) -> None:
    agent, output = board
    handle(agent, ALERT_TOPIC, alert_payload(expires="2026-11-28T10:00:00+07:00"))
    assert display(agent) == ("on", 100, True)
    command(agent, "off", "display_power", state="off")  # during the alert: the alert stays lit
    assert display(agent) == ("on", 100, True)
    assert brightest(output.canvas) == 255
    clock.advance(13 * 3600)  # 22:00: the night step of the schedule
    agent.tick()
    assert display(agent) == ("on", 100, True)  # an alert frame is never dimmed by the schedule
    command(agent, "on", "display_power", state="on")
    handle(agent, ALERT_TOPIC, alert_payload(msg_type="cancel", sent="2026-11-27T09:00:30+07:00"))
    assert display(agent) == ("on", 10, False)  # the last command and the schedule's step now
    assert 0 < brightest(output.canvas) <= round(255 * 0.1) + 1


def test_set_brightness_during_the_alert_applies_after_it(
    board: tuple[Agent, RecordingOutput],
) -> None:
    agent, _output = board
    handle(agent, ALERT_TOPIC, alert_payload())
    command(agent, "dim", "set_brightness", percent=50, for_s=3600)
    assert display(agent) == ("on", 100, True)
    handle(agent, ALERT_TOPIC, alert_payload(msg_type="cancel", sent="2026-11-27T09:00:30+07:00"))
    assert display(agent) == ("on", 50, False)


def test_alert_expiry_gives_the_display_back_too(
    clock: FakeClock, board: tuple[Agent, RecordingOutput]
) -> None:
    agent, output = board
    command(agent, "off", "display_power", state="off")
    handle(agent, ALERT_TOPIC, alert_payload(expires="2026-11-27T09:05:00+07:00"))
    assert display(agent) == ("on", 100, True)
    clock.advance(300)
    agent.tick()
    assert display(agent) == ("off", 30, False)
    assert brightest(output.canvas) == 0


def test_a_banner_alert_does_not_wake_the_display(board: tuple[Agent, RecordingOutput]) -> None:
    agent, output = board
    command(agent, "off", "display_power", state="off")
    handle(agent, ALERT_TOPIC, alert_payload(severity="moderate"))
    assert display(agent) == ("off", 30, False)
    assert brightest(output.canvas) == 0


def test_wake_display_false_leaves_a_switched_off_board_dark(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    agent, output = start_agent(
        tmp_path, clock, brightness=DIM_SCHEDULE, alerts={"wake_display": False}
    )
    try:
        command(agent, "off", "display_power", state="off")
        handle(agent, ALERT_TOPIC, alert_payload())
        assert display(agent) == ("off", 30, False)
        assert brightest(output.canvas) == 0
        # Nothing was seen: no proof of play for the alert.
        assert [e["layout"] for e in events(caplog, "playback.started")] == []
    finally:
        agent.fetcher.stop()
        agent.seq.close()


def test_the_heartbeat_state_line_says_an_alert_woke_the_display(
    board: tuple[Agent, RecordingOutput],
) -> None:
    agent, _output = board
    handle(agent, ALERT_TOPIC, alert_payload())
    assert "power on brightness 100% (woken by an alert)" in agent.heartbeat().state_line()
