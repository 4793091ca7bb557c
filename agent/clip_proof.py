"""A clip's proof of play (CONTRACT §10): `playback.started` when its item goes on the
output (as for every item), and `playback.ended` with the seconds it was on screen when
it leaves: its time is up, an alert takes the screen, its content changed, or the clip
failed. Only items that show a clip get the second event: it is what a city pays a
clip's producer by, and the board sends no more than that."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agent.messages import Channel, PlaybackEnded, PlaybackStarted
from agent.playback import Showing


@dataclass(frozen=True, slots=True)
class _OnAir:
    item_id: str
    channel: Channel
    layout: str
    since: datetime


class ClipProof:
    def __init__(self) -> None:
        self._on_air: _OnAir | None = None  # the clip item whose start was proven

    def after_turn(
        self,
        now: datetime,
        showing: Showing | None,
        started: list[PlaybackStarted],
        *,
        covered: bool,
        shows_clip: bool,
    ) -> list[PlaybackEnded]:
        """What ended at `now`. `showing`: the playback's slot; `started`: the proofs just
        sent; `covered`: a full-screen alert is on air; `shows_clip`: the slot's item
        holds a clip."""
        ended: list[PlaybackEnded] = []
        held = self._on_air
        entry = showing.entry if showing is not None else None
        still = (
            held is not None
            and not covered
            and entry is not None
            and showing is not None
            and (entry.channel, entry.item.id, showing.since)
            == (held.channel, held.item_id, held.since)
        )
        if held is not None and not still:
            seconds = max(0.0, (now - held.since).total_seconds())
            ended.append(
                PlaybackEnded(
                    at=now,
                    item_id=held.item_id,
                    channel=held.channel,
                    layout=held.layout,
                    seconds=round(seconds, 3),
                )
            )
            self._on_air = None
        if entry is not None and showing is not None and shows_clip and not covered:
            proven = any(
                proof.item_id == entry.item.id and proof.channel == entry.channel
                for proof in started
            )
            if proven:
                self._on_air = _OnAir(
                    entry.item.id, entry.channel, entry.item.layout, showing.since
                )
        return ended
