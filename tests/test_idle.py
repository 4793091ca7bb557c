"""A board with nothing to do sleeps until its next deadline (issue 18: an idle board costs
almost nothing), and what the old one-second wake guarded still holds: a wall clock set
during the sleep is seen at the next wake, and the systemd watchdog sees progress."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no window, ever

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from agent.core import IDLE_WAIT_S, Agent
from agent.link_messages import Received
from agent.output import HeadlessOutput
from tests.support import COMMUNE_TOPIC, playlist
from tests.test_core import FakeClock, make_config

TEXT = {"id": "t", "layout": "fullscreen_text", "fields": {"text": "Họp tổ dân phố"}}


@pytest.fixture
def board(tmp_path: Path) -> Iterator[tuple[Agent, FakeClock]]:
    clock = FakeClock()
    made = Agent(make_config(tmp_path), clock=clock, output=HeadlessOutput((320, 180)))
    made.link = None
    yield made, clock
    made.fetcher.stop()
    made.seq.close()


def settle(agent: Agent, items: list[dict[str, object]]) -> None:
    agent.handle(Received(COMMUNE_TOPIC, playlist(1, items), retained=False))
    agent.step()  # something arrived: a full turn puts it on air
    agent.step()  # and the next is a settled one


def test_a_static_screen_sleeps_until_the_cap_not_a_second(
    board: tuple[Agent, FakeClock],
) -> None:
    agent, clock = board
    settle(agent, [{**TEXT, "duration_s": 3600}])
    assert agent.status.timer.next_at - clock.monotonic() > IDLE_WAIT_S  # heartbeat: later
    assert agent._seconds_until_next_deadline() == IDLE_WAIT_S


def test_the_sleep_ends_at_the_first_deadline_before_the_cap(
    board: tuple[Agent, FakeClock],
) -> None:
    agent, clock = board
    until = clock.wall + timedelta(seconds=4)  # the item's validity ends in 4 s
    settle(agent, [{**TEXT, "duration_s": 3600, "valid_until": until.isoformat()}])
    assert agent._seconds_until_next_deadline() == pytest.approx(4, abs=0.01)
    clock.advance(agent.status.timer.next_at - clock.monotonic() - 2)  # a heartbeat in 2 s
    agent.step()
    assert agent._seconds_until_next_deadline() == pytest.approx(2, abs=0.01)


def test_under_a_watchdog_the_loop_wakes_three_times_per_interval(
    board: tuple[Agent, FakeClock],
) -> None:
    agent, _ = board
    settle(agent, [{**TEXT, "duration_s": 3600}])
    agent.notifier.watchdog_s = 6.0  # WatchdogSec=6s: progress wanted within 6 s
    assert agent._seconds_until_next_deadline() == pytest.approx(2)
    agent.notifier.watchdog_s = 60.0  # a lax watchdog does not lengthen the cap
    assert agent._seconds_until_next_deadline() == IDLE_WAIT_S


def test_a_wall_clock_set_during_the_sleep_is_acted_on_at_the_next_wake(
    board: tuple[Agent, FakeClock],
) -> None:
    """NTP steps the clock at boot: an item whose validity ended by the new time leaves
    the screen at the wake after the step, not at the deadline the sleep was set for."""
    agent, clock = board
    until = clock.wall + timedelta(minutes=30)
    notice = {**TEXT, "duration_s": 3600, "valid_until": until.isoformat()}
    settle(agent, [notice])
    assert agent.playback.showing is not None
    assert agent.playback.showing.entry is not None
    wait = agent._seconds_until_next_deadline()
    assert wait == IDLE_WAIT_S
    clock.mono += wait  # the sleep, during which the clock is set an hour forward
    clock.wall += timedelta(seconds=wait, hours=1)
    agent.step()
    showing = agent.playback.showing
    assert showing is None or showing.entry is None  # the idle screen: `t` expired
    # And set back: the item is valid again at the next wake.
    clock.mono += IDLE_WAIT_S
    clock.wall += timedelta(seconds=IDLE_WAIT_S, hours=-1)
    agent.step()
    assert agent.playback.showing is not None
    assert agent.playback.showing.entry is not None
