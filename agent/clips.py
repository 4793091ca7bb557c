"""The board's clips as the renderer sees them (display_layouts/video_source.py): which
are ready, and the picture due now from a player per clip on screen.

The content desk says which clips are verified in the cache (`mark_ready`); this part
opens a `ClipPlayer` (agent/video/player.py) when a clip's item goes on screen and closes
it when the item leaves (`keep_only`, after each draw). A new slot of the same item
restarts the clip: its time counts from the slot's start (the scene's `started`), as a
ticker's does. PyAV is imported on the first clip shown, never on a board without video.

A clip that turns out damaged while playing (its data ends early, a frame does not
decode) raises `ClipFailed` from the zone, so the frame's fault path skips the item, and
is kept here for the core to report as `asset.failed` (`take_failures`); it is not
ready again in this run (the bytes are the ones its SHA-256 names: fetching them again
cannot help).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from display_layouts.image_formats import RemoteImage
from display_layouts.video_source import ClipFailed

if TYPE_CHECKING:
    import pygame

    from agent.video.player import ClipPlayer
    from agent.video.probe import ClipInfo

log = logging.getLogger(__name__)

# The player loops for as long as the item is on screen: playback ends the slot (after
# `duration_s`, or after the clip once: `item_length`), so the player needs no end.
_LOOP_FOR_S = 2 * 86_400.0


@dataclass(frozen=True, slots=True)
class ClipFailure:
    """A clip refused while it played: the `asset.failed` of each item showing it."""

    asset_name: str
    url: str
    message: str


@dataclass(slots=True)
class _Playing:
    player: ClipPlayer
    size: tuple[int, int]
    started: datetime


class ClipDesk:
    def __init__(self, clip_path: Callable[[RemoteImage], Path | None], *, audio: bool) -> None:
        self.clip_path = clip_path  # the verified file in the cache, or None
        self.audio = audio
        self._ready: set[str] = set()
        self._failed: set[str] = set()
        self._infos: dict[str, ClipInfo] = {}
        self._playing: dict[str, _Playing] = {}
        self._failures: list[ClipFailure] = []
        self._dropped_before = 0  # frames dropped by players already closed
        self.decoder: str | None = None  # the last player's decoder, for the heartbeat

    # --- readiness (the content desk's) -------------------------------------------------

    def mark_ready(self, names: Collection[str]) -> None:
        """The clips verified in the cache; those no longer wanted are forgotten."""
        self._ready = set(names) - self._failed
        self._infos = {name: info for name, info in self._infos.items() if name in self._ready}

    def refused(self, name: str) -> bool:
        return name in self._failed

    def info(self, ref: RemoteImage) -> ClipInfo | None:
        """What the clip's header says (probed once, on the core's first need of it)."""
        name = ref.asset_name
        known = self._infos.get(name)
        if known is not None or name not in self._ready:
            return known
        from agent.video.probe import ClipProblem, probe_clip

        path = self.clip_path(ref)
        if path is None:
            return None
        try:
            known = probe_clip(path)
        except ClipProblem as problem:
            self._fail(ref, problem.reason)
            return None
        self._infos[name] = known
        return known

    def length_s(self, ref: RemoteImage) -> float | None:
        """Seconds of one pass of the clip (an item without `duration_s` plays it once)."""
        info = self.info(ref)
        return None if info is None else info.duration_s

    # --- the renderer's VideoSource ------------------------------------------------------

    def ready(self, ref: RemoteImage) -> bool:
        return ref.asset_name in self._ready

    def frame_rate(self, ref: RemoteImage) -> float | None:
        info = self.info(ref)
        return None if info is None else float(info.frame_rate)

    def frame(
        self, ref: RemoteImage, size: tuple[int, int], started: datetime, elapsed: float
    ) -> pygame.Surface | None:
        name = ref.asset_name
        playing = self._playing.get(name)
        if playing is not None and (playing.size != size or playing.started != started):
            self._close(name)
            playing = None
        if playing is None:
            playing = self._open(ref, size, started)
        player = playing.player
        picture = player.frame_at(elapsed)
        problem = player.problem
        if problem is not None:
            self._close(name)
            self._fail(ref, problem.reason)
            raise ClipFailed(problem.reason)
        return picture if picture is not None else player.surface

    def _open(self, ref: RemoteImage, size: tuple[int, int], started: datetime) -> _Playing:
        from agent.video.player import ClipPlayer
        from agent.video.probe import ClipProblem

        info, path = self.info(ref), self.clip_path(ref)
        if info is None or path is None:
            raise ClipFailed(f"clip {ref.asset_name[:12]} is not in the cache")
        try:
            player = ClipPlayer(path, size, duration_s=_LOOP_FOR_S, info=info, audio=self.audio)
        except ClipProblem as problem:
            self._fail(ref, problem.reason)
            raise ClipFailed(problem.reason) from None
        choice = player.choice
        self.decoder = f"{choice.name} ({'hardware' if choice.hardware else 'software'})"
        playing = _Playing(player, size, started)
        self._playing[ref.asset_name] = playing
        return playing

    # --- the core's ----------------------------------------------------------------------

    def keep_only(self, names: Collection[str]) -> None:
        """After a draw: close the players of clips no longer on screen (an alert took
        over, the item ended): a decoder and its buffers are megabytes."""
        for name in [name for name in self._playing if name not in names]:
            self._close(name)

    def take_failures(self) -> list[ClipFailure]:
        failures, self._failures = self._failures, []
        return failures

    @property
    def frames_dropped(self) -> int:
        """Frames skipped to keep clips in time since start (never played slower)."""
        open_players = sum(playing.player.frames_dropped for playing in self._playing.values())
        return self._dropped_before + open_players

    def close(self) -> None:
        for name in list(self._playing):
            self._close(name)

    def _close(self, name: str) -> None:
        playing = self._playing.pop(name)
        self._dropped_before += playing.player.frames_dropped
        playing.player.close()

    def _fail(self, ref: RemoteImage, message: str) -> None:
        name = ref.asset_name
        log.warning("clip %s cannot be played: %s", ref.url, message)
        self._failed.add(name)
        self._ready.discard(name)
        self._failures.append(ClipFailure(name, ref.url, message))
