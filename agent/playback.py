"""Which item is on screen now, and when that changes (CONTRACT §3, playback).

Pure: time comes in as an argument, nothing here sleeps, reads files or draws. The core
asks `update(now, playlists)` whenever something changed or a deadline passed, and sleeps
until `next_wakeup(now, playlists)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from agent.messages import CHANNELS, Channel, Playlist, PlaylistItem, ScheduleWindow

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Entry:
    """An item of a channel, with its place in the rotation order."""

    channel: Channel
    item: PlaylistItem
    position: tuple[int, int]  # (channel order, index in its playlist)

    @property
    def key(self) -> tuple[Channel, str]:
        return (self.channel, self.item.id)


@dataclass(frozen=True, slots=True)
class Showing:
    """What is on screen: an entry for a slot of its duration, or idle (entry None)."""

    entry: Entry | None
    since: datetime
    until: datetime | None


def in_window(window: ScheduleWindow, local: datetime) -> bool:
    start, end = window.from_, window.to
    now = local.time()  # the windows' bounds are whole minutes: seconds never tip them
    today = WEEKDAYS[local.weekday()]
    if start < end:
        return today in window.days and start <= now < end
    # Crosses midnight: the part after `from` belongs to a listed day, the part before
    # `to` to the day after a listed day.
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    return (today in window.days and now >= start) or (yesterday in window.days and now < end)


def is_eligible(item: PlaylistItem, now: datetime, tz: ZoneInfo) -> bool:
    if item.valid_from is not None and now < item.valid_from:
        return False
    if item.valid_until is not None and now >= item.valid_until:
        return False
    if item.schedule is not None:
        local = now.astimezone(tz)
        return any(in_window(window, local) for window in item.schedule)
    return True


_FIXED_ORDER: dict[str, int] = {channel: place for place, channel in enumerate(CHANNELS)}


def rotation_order(channels: Iterable[Channel]) -> list[Channel]:
    """The order channels take turns in: the fixed channels as listed, then the groups
    by name (any number of them: each is one turn, as a fixed channel is)."""
    return sorted(set(channels), key=lambda c: (_FIXED_ORDER.get(c, len(CHANNELS)), c))


def entries(playlists: Mapping[Channel, Playlist]) -> Iterator[Entry]:
    for channel_order, channel in enumerate(rotation_order(playlists)):
        for index, item in enumerate(playlists[channel].items):
            yield Entry(channel, item, (channel_order, index))


def _next_local_time(at: time, now: datetime, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate


class Playback:
    """The rotation state: the slot on screen and where the rotation stands."""

    def __init__(
        self,
        tz: ZoneInfo,
        ready: Callable[[PlaylistItem], bool] | None = None,
        length: Callable[[PlaylistItem], float] | None = None,
    ) -> None:
        """`ready`: whether an item's files are here; `length`: its slot's seconds (by
        default `duration_s`; a clip item without one plays its clip once)."""
        self.tz = tz
        self.ready = ready or (lambda _item: True)
        self.length = length or (lambda item: float(item.duration_s))
        self.showing: Showing | None = None
        self._cursor: dict[Channel, int] = {}  # index of the item each channel showed last

    def eligible(self, playlists: Mapping[Channel, Playlist], now: datetime) -> list[Entry]:
        """The entries that may be on screen now: valid, scheduled, ready, top priority."""
        usable = [
            e
            for e in entries(playlists)
            if is_eligible(e.item, now, self.tz) and self.ready(e.item)
        ]
        if not usable:
            return []
        top = max(e.item.priority for e in usable)
        return [e for e in usable if e.item.priority == top]

    def update(self, now: datetime, playlists: Mapping[Channel, Playlist]) -> Showing | None:
        """Start a new slot when one is due; returns it, or None when nothing changes."""
        candidates = self.eligible(playlists, now)
        chosen = self._choose(now, candidates)
        if chosen is None:
            return None
        self.showing = chosen
        return chosen

    def resume(self, now: datetime, playlists: Mapping[Channel, Playlist]) -> Showing | None:
        """After an interruption (a full-screen alert): the item that was on screen gets a
        fresh slot if it is still eligible; otherwise the rotation goes on as usual."""
        current = self.showing
        if current is not None and current.entry is not None:
            key = current.entry.key
            same = next((e for e in self.eligible(playlists, now) if e.key == key), None)
            if same is not None:
                self.showing = self._slot(same, now)
                return self.showing
        return self.update(now, playlists)

    def _choose(self, now: datetime, candidates: list[Entry]) -> Showing | None:
        current = self.showing
        if not candidates:
            if current is not None and current.entry is None:
                return None
            return Showing(None, now, None)
        if current is None or current.entry is None:
            return self._slot(candidates[0], now)
        same = next((e for e in candidates if e.key == current.entry.key), None)
        if same is not None and same.item != current.entry.item:
            return self._slot(same, now)  # the item on screen was edited: show the new version
        if same is not None and current.until is not None and now < current.until:
            return None
        return self._slot(self._next_turn(current.entry, candidates), now)

    def _next_turn(self, current: Entry, candidates: list[Entry]) -> Entry:
        """Channels take turns, each channel's items in order: a city playlist of ten items
        must not bury the commune's one notice."""
        self._cursor[current.channel] = current.position[1]
        order = rotation_order([current.channel, *(e.channel for e in candidates)])
        start = order.index(current.channel) + 1
        for channel in order[start:] + order[:start]:
            mine = [e for e in candidates if e.channel == channel]
            if mine:
                last = self._cursor.get(channel, -1)
                return next((e for e in mine if e.position[1] > last), mine[0])
        return candidates[0]

    def _slot(self, entry: Entry, now: datetime) -> Showing:
        return Showing(entry, now, now + timedelta(seconds=self.length(entry.item)))

    def next_wakeup(self, now: datetime, playlists: Mapping[Channel, Playlist]) -> datetime | None:
        """The next instant at which `update` may change its answer (exact, no polling)."""
        times: list[datetime] = []
        if self.showing is not None and self.showing.until is not None:
            times.append(self.showing.until)
        boundaries: set[time] = set()
        for entry in entries(playlists):
            item = entry.item
            times.extend(t for t in (item.valid_from, item.valid_until) if t and t > now)
            for window in item.schedule or ():
                boundaries.update((window.from_, window.to))
        times.extend(_next_local_time(at, now, self.tz) for at in boundaries)
        return min(times, default=None)
