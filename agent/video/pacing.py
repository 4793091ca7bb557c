"""Which frame is due, pure arithmetic: the player asks with the time since the item began.

Time is the master, never the decoder: the frame shown is the one whose slot the clock is
in, so a board that cannot keep up skips frames (counted as dropped) instead of playing
the clip slower than it was made. An item with `duration_s` loops the clip for that
long; without it the clip plays once to its end. Nothing here reads a clock; the
caller passes `elapsed` (seconds since the item started, from its injected clock).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EPSILON = 1e-9  # a time exactly on a frame's boundary belongs to that frame, not the one before


def item_length(clip_duration: float, duration_s: float | None) -> float:
    """How long the item plays: its `duration_s` (looping), else the clip once."""
    return clip_duration if duration_s is None else duration_s


def position(elapsed: float, clip_duration: float, loop: bool) -> float | None:
    """Seconds into the clip at `elapsed` seconds into the item; None once a clip played
    once has ended. Before the start (a clock read early) is the first frame."""
    if clip_duration <= 0 or not math.isfinite(elapsed):
        return None
    elapsed = max(0.0, elapsed)
    if not loop:
        return elapsed if elapsed < clip_duration else None
    return math.fmod(elapsed, clip_duration)


def pass_number(elapsed: float, clip_duration: float, loop: bool) -> int:
    """Which pass through the clip `elapsed` falls in (0 first; always 0 when not looping)."""
    if not loop or clip_duration <= 0 or elapsed <= 0:
        return 0
    return int(elapsed // clip_duration)


def due_frame(clip_position: float, frame_rate: float, frame_count: int) -> int:
    """The index of the frame whose slot `clip_position` is in, within 0..frame_count-1."""
    index = math.floor(max(0.0, clip_position) * frame_rate + EPSILON)
    return min(max(0, frame_count - 1), index)


def frames_skipped(last: tuple[int, int] | None, shown: tuple[int, int], frame_count: int) -> int:
    """Frames never shown between the last one shown and this one; each is
    (pass, index). Whole passes skipped count every frame; the tail of a pass left early
    counts too. Showing the same frame again, or going back, skips nothing."""
    last_pass, last_index = last if last is not None else (0, -1)
    now_pass, now_index = shown
    if (now_pass, now_index) <= (last_pass, last_index):
        return 0
    if now_pass == last_pass:
        return now_index - last_index - 1
    tail = frame_count - 1 - last_index
    whole = (now_pass - last_pass - 1) * frame_count
    return max(0, tail) + whole + now_index


@dataclass(slots=True)
class PlaybackTally:
    """What a clip item has shown: frames shown, frames dropped (for the heartbeat's
    `display.frames_dropped`), and the seconds on screen (for `playback.ended`)."""

    frame_count: int
    frames_shown: int = 0
    frames_dropped: int = 0
    last: tuple[int, int] | None = None  # (pass, index) of the frame on screen

    def show(self, pass_index: int, frame_index: int) -> bool:
        """Record the frame now on screen; False when it already was (nothing to draw)."""
        shown = (pass_index, frame_index)
        if self.last is not None and shown <= self.last:
            return False
        self.frames_dropped += frames_skipped(self.last, shown, self.frame_count)
        self.frames_shown += 1
        self.last = shown
        return True


def seconds_shown(elapsed: float, clip_duration: float, duration_s: float | None) -> float:
    """Seconds the item was actually on screen when it stopped at `elapsed` (its end, an
    alert's takeover, or a new playlist), for `playback.ended`: never more than the item's
    length, never negative."""
    if not math.isfinite(elapsed):
        return 0.0
    return round(min(max(0.0, elapsed), item_length(clip_duration, duration_s)), 3)
