"""The alert lifecycle (CONTRACT §3, alert): which alerts are active, and what ends them.

Pure: time comes in as an argument. The core feeds every alert payload (or deletion) in
with `receive`, asks `expire` at the deadlines `next_expiry` gives, and shows `active()`.
Each call returns what happened as `Outcome`s, which the core turns into events.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from agent.messages import Alert, Severity

SEVERITY_RANK: dict[Severity, int] = {
    "extreme": 0,
    "severe": 1,
    "moderate": 2,
    "minor": 3,
    "unknown": 4,  # CAP's `Unknown`: shown, after every alert whose severity is known
}
FULL_SCREEN: frozenset[Severity] = frozenset({"extreme", "severe"})
# Two messages of one alert with the same `sent` (CAP times have one-second resolution,
# so an immediate correction shares its alert's): the higher kind wins, whatever the order
# they arrive in (CONTRACT §6).
MSG_TYPE_RANK = {"alert": 0, "update": 1, "cancel": 2}
# Messages remembered per alert at its newest `sent`, to tell a replay from a new one.
SAME_SENT_KEPT = 8

EndReason = Literal["cancel", "expired", "deleted"]


@dataclass(frozen=True, slots=True)
class Started:
    alert: Alert


@dataclass(frozen=True, slots=True)
class Updated:
    alert: Alert


@dataclass(frozen=True, slots=True)
class Ended:
    alert: Alert
    reason: EndReason


@dataclass(frozen=True, slots=True)
class Ignored:
    alert_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Acknowledged:
    alert: Alert


@dataclass(frozen=True, slots=True)
class Replayed:
    """The same message again (a retained replay after reconnecting): said by no event,
    only counted (a reconnect replays every retained alert)."""

    alert_id: str


Outcome = Started | Updated | Ended | Ignored | Acknowledged | Replayed


@dataclass(slots=True)
class _Newest:
    """What an alert id received at its newest `sent`: the highest kind applied, and the
    fingerprints of the messages seen (a replay is one of them)."""

    sent: datetime
    rank: int
    seen: list[bytes] = field(default_factory=list)


def fingerprint(alert: Alert) -> bytes:
    """What tells one message from another with the same `sent` (the same bytes decode to
    the same alert, so a replay has the fingerprint of its first arrival)."""
    return hashlib.blake2b(alert.model_dump_json().encode(), digest_size=16).digest()


def full_screen(alert: Alert) -> bool:
    """Extreme and severe alerts take the whole display (unless the sender chose a layout);
    one of unknown severity only when it is immediate (CONTRACT §6)."""
    if alert.layout is not None:
        return alert.layout == "alert_full"
    if alert.severity == "unknown":
        return alert.urgency == "immediate"
    return alert.severity in FULL_SCREEN


def priority_key(alert: Alert) -> tuple[int, float]:
    """Most severe first; among equals, the newest first."""
    return (SEVERITY_RANK[alert.severity], -alert.sent.timestamp())


class AlertBook:
    """Every alert the board knows of, active or ended (ended ones block stale replays)."""

    def __init__(self) -> None:
        self._active: dict[str, Alert] = {}
        # The newest `sent` seen per id, also for ended alerts: an older retained copy
        # arriving after a cancel or an update must not bring an alert back.
        self._newest: dict[str, _Newest] = {}
        # Asked every tick, changed rarely: with thousands of active alerts (a retained
        # burst) sorting them and finding the soonest expiry each tick cost most of a tick.
        self._ordered: list[Alert] | None = None
        self._soonest: datetime | None = None
        # The rotation's two queues, asked every tick: splitting 5000 restored alerts
        # each tick held a restarted board's core for most of its time (its heartbeats
        # stopped reaching the dashboard for 7-10 s, tests/hostile/test_inflow_floods.py).
        self._split: tuple[list[Alert], list[Alert]] | None = None

    def _changed(self) -> None:
        self._ordered = None
        self._split = None
        self._soonest = None

    def active(self) -> list[Alert]:
        if self._ordered is None:
            self._ordered = sorted(self._active.values(), key=priority_key)
        return list(self._ordered)

    def split(self) -> tuple[list[Alert], list[Alert]]:
        """The active alerts that take the whole screen, and the banners, each most severe
        first (not to be changed by the caller: kept until the book changes)."""
        if self._split is None:
            ordered = self.active()
            self._split = (
                [a for a in ordered if full_screen(a)],
                [a for a in ordered if not full_screen(a)],
            )
        return self._split

    def is_active(self, alert_id: str) -> bool:
        return alert_id in self._active

    def get(self, alert_id: str) -> Alert | None:
        """The active alert with this id, if any."""
        return self._active.get(alert_id)

    def receive(self, alert: Alert, now: datetime) -> list[Outcome]:
        newest = self._newest.get(alert.id)
        rank, mark = MSG_TYPE_RANK[alert.msg_type], fingerprint(alert)
        if newest is not None and alert.sent < newest.sent:
            sent = newest.sent.isoformat()
            return [Ignored(alert.id, f"older than the {alert.id} sent at {sent}")]
        if newest is not None and alert.sent == newest.sent:
            if mark in newest.seen:
                return [Replayed(alert.id)]
            if len(newest.seen) >= SAME_SENT_KEPT:
                del newest.seen[0]
            newest.seen.append(mark)
            if rank <= newest.rank:
                kind = next(k for k, r in MSG_TYPE_RANK.items() if r == newest.rank)
                reason = (
                    f"sent at the same time as the {kind} received first, which it does "
                    "not outrank (cancel > update > alert)"
                )
                return [Ignored(alert.id, reason)]
            newest.rank = rank
        else:
            self._newest[alert.id] = _Newest(alert.sent, rank, [mark])
        if alert.status == "test":
            return [Acknowledged(alert)]
        return self._apply(alert, now)

    def _apply(self, alert: Alert, now: datetime) -> list[Outcome]:
        held = self._active.get(alert.id)
        if alert.msg_type == "cancel":
            if held is None:
                return [Ignored(alert.id, "cancel for an alert that is not active")]
            del self._active[alert.id]
            self._changed()
            return [Ended(held, "cancel")]
        if alert.expires <= now:
            if held is not None:  # an update that is already out of date ends the alert
                del self._active[alert.id]
                self._changed()
                return [Ended(held, "expired")]
            return [Ignored(alert.id, f"expired at {alert.expires.isoformat()}")]
        self._active[alert.id] = alert
        self._changed()
        return [Updated(alert)] if held is not None else [Started(alert)]

    def delete(self, alert_id: str) -> list[Outcome]:
        """An empty retained payload on the alert's topic."""
        held = self._active.pop(alert_id, None)
        if held is not None:
            self._changed()
        return [Ended(held, "deleted")] if held is not None else []

    def expire(self, now: datetime) -> list[Outcome]:
        soonest = self.next_expiry()
        if soonest is None or soonest > now:
            return []
        ended = [a for a in self._active.values() if a.expires <= now]
        for alert in ended:
            del self._active[alert.id]
        self._changed()
        return [Ended(alert, "expired") for alert in ended]

    def next_expiry(self) -> datetime | None:
        if self._soonest is None and self._active:
            self._soonest = min(a.expires for a in self._active.values())
        return self._soonest


@dataclass(frozen=True, slots=True)
class AlertSlot:
    alert: Alert
    since: datetime
    until: datetime
    # When this alert, with this text, first went on screen: its attention pulse runs
    # from then, not again at each turn of a rotation or at an update that changes
    # nothing people read.
    noticed: datetime


def _read_text(alert: Alert) -> tuple[str | None, ...]:
    """What people read of an alert: a change in it is news."""
    return alert.severity, alert.headline, alert.description, alert.instruction


def _differs(before: AlertSlot | None, after: AlertSlot | None) -> bool:
    """A new turn started (another alert, a new text, or a new turn of the same alert)."""
    if before is None or after is None:
        return before is not after
    return (before.alert, before.since) != (after.alert, after.since)


class AlertRotation:
    """Which alert fills the screen and which one runs as a banner, and for how long.

    Several alerts of a kind take turns of `slot_s` seconds, most severe first; a more
    severe alert than the one shown, an update, or the end of the one shown changes the
    screen at once.
    """

    def __init__(self, slot_s: float = 15.0) -> None:
        self.slot_s = slot_s
        self.full: AlertSlot | None = None
        self.banner: AlertSlot | None = None
        self._noticed: dict[str, tuple[tuple[str | None, ...], datetime]] = {}

    def update(self, now: datetime, active: list[Alert]) -> tuple[bool, bool]:
        """Advance both turns; returns whether (full screen, banner) changed."""
        return self.update_split(
            now, [a for a in active if full_screen(a)], [a for a in active if not full_screen(a)]
        )

    def update_split(
        self, now: datetime, full_alerts: list[Alert], banners: list[Alert]
    ) -> tuple[bool, bool]:
        """`update` with the alerts already split (AlertBook.split keeps them)."""
        full = self._turn(self.full, full_alerts, now)
        banner = self._turn(self.banner, banners, now)
        changed = (_differs(self.full, full), _differs(self.banner, banner))
        self.full, self.banner = full, banner
        if len(self._noticed) > len(full_alerts) + len(banners):  # ended alerts are news
            ids = {alert.id for alert in (*full_alerts, *banners)}  # again if they return
            self._noticed = {key: seen for key, seen in self._noticed.items() if key in ids}
        return changed

    def _turn(
        self, current: AlertSlot | None, ordered: list[Alert], now: datetime
    ) -> AlertSlot | None:
        if not ordered:
            return None
        shown = next((a for a in ordered if current and a.id == current.alert.id), None)
        if current is None or shown is None:
            return self._slot(ordered[0], now)
        if shown != current.alert:
            return self._slot(shown, now)  # updated: show the new text now
        if priority_key(ordered[0])[0] < priority_key(shown)[0]:
            return self._slot(ordered[0], now)  # a more severe alert pre-empts
        return self._next_turn(current, shown, ordered, now)

    def _next_turn(
        self, current: AlertSlot, shown: Alert, ordered: list[Alert], now: datetime
    ) -> AlertSlot:
        if now < current.until:
            return current
        following = ordered[(ordered.index(shown) + 1) % len(ordered)]
        if following.id == shown.id:  # alone: it stays on, without a new turn
            until = now + timedelta(seconds=self.slot_s)
            return AlertSlot(shown, current.since, until, current.noticed)
        return self._slot(following, now)

    def _slot(self, alert: Alert, now: datetime) -> AlertSlot:
        return AlertSlot(alert, now, now + timedelta(seconds=self.slot_s), self._notice(alert, now))

    def _notice(self, alert: Alert, now: datetime) -> datetime:
        text = _read_text(alert)
        seen = self._noticed.get(alert.id)
        if seen is None or seen[0] != text:
            seen = self._noticed[alert.id] = (text, now)
        return seen[1]

    def next_wakeup(self) -> datetime | None:
        ends = [slot.until for slot in (self.full, self.banner) if slot is not None]
        return min(ends, default=None)
