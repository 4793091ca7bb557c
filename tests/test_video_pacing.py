"""Pure pacing (agent/video/pacing.py): the frame due by the clock, drops counted, loops."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.video.pacing import (
    PlaybackTally,
    due_frame,
    frames_skipped,
    item_length,
    pass_number,
    position,
    seconds_shown,
)


def test_position_loops_for_the_items_duration_and_plays_once_without_one() -> None:
    assert position(1.25, 3.0, loop=True) == pytest.approx(1.25)
    assert position(4.0, 3.0, loop=True) == pytest.approx(1.0)
    assert position(4.0, 3.0, loop=False) is None
    assert position(2.999, 3.0, loop=False) == pytest.approx(2.999)
    assert position(3.0, 3.0, loop=False) is None
    assert position(-0.5, 3.0, loop=False) == 0.0  # a clock read a hair early
    assert position(math.nan, 3.0, loop=True) is None
    assert pass_number(7.5, 3.0, loop=True) == 2
    assert pass_number(7.5, 3.0, loop=False) == 0
    assert item_length(3.0, None) == 3.0
    assert item_length(3.0, 10.0) == 10.0


def test_the_frame_due_is_the_one_whose_slot_the_time_is_in() -> None:
    assert due_frame(0.0, 10, 30) == 0
    assert due_frame(0.0999, 10, 30) == 0
    assert due_frame(0.1, 10, 30) == 1  # a boundary belongs to the frame it starts
    assert due_frame(0.3, 10, 30) == 3  # 0.3 * 10 is 2.9999999999999996 in floats
    assert due_frame(2.95, 10, 30) == 29
    assert due_frame(5.0, 10, 30) == 29  # never past the last frame


def test_drops_count_the_frames_never_shown() -> None:
    assert frames_skipped(None, (0, 0), 30) == 0
    assert frames_skipped((0, 0), (0, 1), 30) == 0
    assert frames_skipped((0, 1), (0, 10), 30) == 8
    assert frames_skipped((0, 10), (0, 10), 30) == 0  # the same frame again
    assert frames_skipped((0, 25), (1, 2), 30) == 4 + 2  # the tail, then the new pass's start
    assert frames_skipped((0, 29), (1, 0), 30) == 0
    assert frames_skipped((0, 29), (3, 0), 30) == 60  # two whole passes missed


def test_the_tally_counts_shown_and_dropped_and_refuses_going_back() -> None:
    tally = PlaybackTally(frame_count=30)
    assert tally.show(0, 0)
    assert tally.show(0, 5)
    assert not tally.show(0, 5)
    assert not tally.show(0, 3)
    assert tally.show(1, 1)
    assert (tally.frames_shown, tally.frames_dropped) == (3, 4 + 24 + 1)


def test_seconds_shown_is_capped_by_the_item() -> None:
    assert seconds_shown(1.5, 3.0, None) == 1.5  # an alert took over
    assert seconds_shown(9.0, 3.0, None) == 3.0  # played once to its end
    assert seconds_shown(9.0, 3.0, 20.0) == 9.0
    assert seconds_shown(25.0, 3.0, 20.0) == 20.0
    assert seconds_shown(-1.0, 3.0, None) == 0.0
    assert seconds_shown(math.inf, 3.0, None) == 0.0


@given(
    times=st.lists(st.floats(0, 60, allow_nan=False), min_size=1, max_size=40),
    rate=st.sampled_from([10.0, 24.0, 25.0, 29.97, 30.0, 60.0]),
    clip=st.floats(0.5, 10),
)
def test_shown_plus_dropped_is_every_frame_up_to_the_last_shown(
    times: list[float], rate: float, clip: float
) -> None:
    """Whatever times the board manages to ask at, frames are never slowed: every frame
    up to the one on screen is either shown once or counted as dropped."""
    frame_count = max(1, round(clip * rate))
    tally = PlaybackTally(frame_count)
    for elapsed in sorted(times):
        at = position(elapsed, clip, loop=True)
        assert at is not None
        tally.show(pass_number(elapsed, clip, loop=True), due_frame(at, rate, frame_count))
    assert tally.last is not None
    last_pass, last_index = tally.last
    assert tally.frames_shown + tally.frames_dropped == last_pass * frame_count + last_index + 1
