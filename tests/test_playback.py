from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.messages import Channel, Playlist, PlaylistItem, ScheduleWindow
from agent.playback import Playback, in_window, is_eligible

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=TZ)  # a Friday


def make_item(item_id: str, **extra: Any) -> PlaylistItem:
    return PlaylistItem.model_validate(
        {"id": item_id, "layout": "fullscreen_text", "fields": {"text": item_id}, **extra}
    )


def make_playlist(*items: PlaylistItem, version: int = 1) -> Playlist:
    return Playlist(type="playlist", version=version, issued_at=T0, items=list(items))


def shown_id(playback: Playback) -> str | None:
    showing = playback.showing
    assert showing is not None
    return showing.entry.item.id if showing.entry else None


def test_rotates_items_by_duration() -> None:
    playlists: dict[Channel, Playlist] = {
        "commune": make_playlist(make_item("a", duration_s=10), make_item("b", duration_s=5))
    }
    playback = Playback(TZ)
    assert playback.update(T0, playlists) is not None
    assert shown_id(playback) == "a"
    assert playback.next_wakeup(T0, playlists) == T0 + timedelta(seconds=10)
    assert playback.update(T0 + timedelta(seconds=9), playlists) is None
    playback.update(T0 + timedelta(seconds=10), playlists)
    assert shown_id(playback) == "b"
    playback.update(T0 + timedelta(seconds=15), playlists)
    assert shown_id(playback) == "a"


def test_single_item_starts_a_new_slot_each_duration() -> None:
    playlists: dict[Channel, Playlist] = {"city": make_playlist(make_item("a", duration_s=10))}
    playback = Playback(TZ)
    playback.update(T0, playlists)
    again = playback.update(T0 + timedelta(seconds=10), playlists)
    assert again is not None
    assert again.entry is not None
    assert again.entry.item.id == "a"


def test_only_the_highest_priority_present_rotates() -> None:
    playlists: dict[Channel, Playlist] = {
        "city": make_playlist(make_item("low")),
        "commune": make_playlist(make_item("high1", priority=2), make_item("high2", priority=2)),
    }
    playback = Playback(TZ)
    seen = set()
    for step in range(6):
        playback.update(T0 + timedelta(seconds=10 * step), playlists)
        seen.add(shown_id(playback))
    assert seen == {"high1", "high2"}


def test_higher_priority_item_appearing_changes_the_screen_at_once() -> None:
    playback = Playback(TZ)
    playlists: dict[Channel, Playlist] = {"city": make_playlist(make_item("a", duration_s=60))}
    playback.update(T0, playlists)
    playlists["board"] = make_playlist(make_item("urgent", priority=5))
    assert playback.update(T0 + timedelta(seconds=1), playlists) is not None
    assert shown_id(playback) == "urgent"


def test_item_on_screen_removed_changes_at_once_and_edit_shows_new_version() -> None:
    playback = Playback(TZ)
    playlists: dict[Channel, Playlist] = {
        "commune": make_playlist(make_item("a", duration_s=60), make_item("b"))
    }
    playback.update(T0, playlists)
    edited = make_item("a", duration_s=60, fields={"text": "sửa lại"})
    playlists["commune"] = make_playlist(edited, make_item("b"), version=2)
    started = playback.update(T0 + timedelta(seconds=1), playlists)
    assert started is not None
    assert started.entry is not None
    assert started.entry.item.fields["text"] == "sửa lại"
    playlists["commune"] = make_playlist(make_item("b"), version=3)
    playback.update(T0 + timedelta(seconds=2), playlists)
    assert shown_id(playback) == "b"


def test_empty_playlist_shows_idle_never_nothing() -> None:
    playback = Playback(TZ)
    playlists: dict[Channel, Playlist] = {"commune": make_playlist(make_item("a"))}
    playback.update(T0, playlists)
    playlists["commune"] = make_playlist(version=2)
    idle = playback.update(T0 + timedelta(seconds=1), playlists)
    assert idle is not None
    assert idle.entry is None
    assert playback.update(T0 + timedelta(seconds=2), playlists) is None  # stays idle quietly


def test_validity_window_and_exact_wakeups() -> None:
    start, end = T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)
    playlists: dict[Channel, Playlist] = {
        "commune": make_playlist(make_item("later", valid_from=start, valid_until=end))
    }
    playback = Playback(TZ)
    playback.update(T0, playlists)
    assert shown_id(playback) is None
    assert playback.next_wakeup(T0, playlists) == start
    playback.update(start, playlists)
    assert shown_id(playback) == "later"
    playback.update(end, playlists)
    assert shown_id(playback) is None


def test_items_waiting_for_assets_are_not_shown() -> None:
    playlists: dict[Channel, Playlist] = {"city": make_playlist(make_item("a"), make_item("b"))}
    playback = Playback(TZ, ready=lambda item: item.id != "a")
    playback.update(T0, playlists)
    assert shown_id(playback) == "b"


WEEKDAY_WINDOW = ScheduleWindow.model_validate({"days": ["fri"], "from": "06:00", "to": "21:30"})
NIGHT_WINDOW = ScheduleWindow.model_validate({"days": ["fri"], "from": "22:00", "to": "02:00"})


@pytest.mark.parametrize(
    ("window", "local", "expected"),
    [
        (WEEKDAY_WINDOW, datetime(2026, 11, 27, 6, 0, tzinfo=TZ), True),
        (WEEKDAY_WINDOW, datetime(2026, 11, 27, 5, 59, tzinfo=TZ), False),
        (WEEKDAY_WINDOW, datetime(2026, 11, 27, 21, 30, tzinfo=TZ), False),
        (WEEKDAY_WINDOW, datetime(2026, 11, 28, 12, 0, tzinfo=TZ), False),  # Saturday
        (NIGHT_WINDOW, datetime(2026, 11, 27, 23, 0, tzinfo=TZ), True),  # Friday night
        (NIGHT_WINDOW, datetime(2026, 11, 28, 1, 59, tzinfo=TZ), True),  # after midnight, Saturday
        (NIGHT_WINDOW, datetime(2026, 11, 28, 2, 0, tzinfo=TZ), False),
        (
            NIGHT_WINDOW,
            datetime(2026, 11, 27, 1, 0, tzinfo=TZ),
            False,
        ),  # Friday early: Thursday not listed
    ],
)
def test_schedule_windows(window: ScheduleWindow, local: datetime, expected: bool) -> None:
    assert in_window(window, local) is expected


def test_schedule_boundaries_are_wakeups() -> None:
    night = make_item("night", schedule=[NIGHT_WINDOW.model_dump(by_alias=True)])
    playlists: dict[Channel, Playlist] = {"board": make_playlist(night)}
    playback = Playback(TZ)
    playback.update(T0, playlists)
    wake = playback.next_wakeup(T0, playlists)
    assert wake == datetime(2026, 11, 27, 22, 0, tzinfo=TZ)
    playback.update(wake, playlists)
    assert shown_id(playback) == "night"


# --- property: never an ineligible item, never an empty screen ------------------------

times = st.integers(min_value=0, max_value=7 * 24 * 3600).map(lambda s: T0 + timedelta(seconds=s))
windows = st.builds(
    lambda days, start, end: {"days": days, "from": start, "to": end},
    st.lists(
        st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
        min_size=1,
        max_size=7,
        unique=True,
    ),
    st.sampled_from(["00:00", "06:00", "12:30", "21:30", "23:59"]),
    st.sampled_from(["00:30", "07:00", "13:00", "22:00"]),
)


@st.composite
def items(draw: st.DrawFn, index: int) -> PlaylistItem:
    extra: dict[str, Any] = {
        "duration_s": draw(st.integers(1, 120)),
        "priority": draw(st.integers(0, 2)),
    }
    if draw(st.booleans()):
        start = draw(times)
        extra["valid_from"] = start
        extra["valid_until"] = start + timedelta(seconds=draw(st.integers(1, 86400)))
    if draw(st.booleans()):
        extra["schedule"] = [draw(windows)]
    return make_item(f"i{index}", **extra)


@st.composite
def channel_playlists(draw: st.DrawFn) -> dict[Channel, Playlist]:
    result: dict[Channel, Playlist] = {}
    counter = 0
    channels: list[Channel] = ["city", "district", "commune", "board"]
    for channel in draw(st.lists(st.sampled_from(channels), unique=True, max_size=4)):
        count = draw(st.integers(0, 4))
        result[channel] = make_playlist(*(draw(items(counter + n)) for n in range(count)))
        counter += count
    return result


@settings(max_examples=150, deadline=None)
@given(channel_playlists(), st.lists(st.integers(0, 3 * 3600), min_size=1, max_size=12))
def test_never_ineligible_never_empty(playlists: dict[Channel, Playlist], steps: list[int]) -> None:
    playback = Playback(TZ)
    now = T0
    for step in sorted(steps):
        now = T0 + timedelta(seconds=step)
        playback.update(now, playlists)
        showing = playback.showing
        assert showing is not None  # something (an item or idle) is always on screen
        eligible = playback.eligible(playlists, now)
        if showing.entry is None:
            assert eligible == []
        else:
            assert is_eligible(showing.entry.item, now, TZ)
            assert showing.entry.key in {e.key for e in eligible}
        wake = playback.next_wakeup(now, playlists)
        assert wake is None or wake > now


def test_channels_take_turns_fairly() -> None:
    playlists: dict[Channel, Playlist] = {
        "city": make_playlist(make_item("c1"), make_item("c2"), make_item("c3")),
        "commune": make_playlist(make_item("x")),
        "board": make_playlist(make_item("b")),
    }
    playback = Playback(TZ)
    order = []
    for step in range(9):
        playback.update(T0 + timedelta(seconds=10 * step), playlists)
        order.append(shown_id(playback))
    assert order == ["c1", "x", "b", "c2", "x", "b", "c3", "x", "b"]
