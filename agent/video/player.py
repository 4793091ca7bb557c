"""One clip on one zone: `frame_at(elapsed)` gives the picture due at that moment.

The player decodes forward only as far as the frame that is due, converts only that one
(libswscale, to the letterboxed size) and blits it centred on a zone-sized Surface with
black bars. A board that falls behind gets the frame due now, not the next in line: the
frames in between are decoded (a decoder cannot skip them) but never converted or shown,
and counted as dropped; far behind (more than `SEEK_AHEAD_S`) it seeks to the keyframe
before the due time instead of decoding everything up to it. On a loop it seeks back to
the start. Nothing here waits or sleeps: the caller's frame loop calls `frame_at` (or
`frame_now`, which reads the injected clock) once per display frame.

Sound (`audio=True`, for `[display] audio = true`): the clip's sound track goes to
pygame.mixer, fed from `frame_at` after the picture and kept roughly in step with it
(agent/video/audio.py). With `audio=False`, the default, it is never decoded.
"""

from __future__ import annotations

import ctypes
import functools
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import av
import pygame

from agent.video.audio import ClipAudio, open_clip_audio
from agent.video.decoder import DecoderChoice, FrameDecoder
from agent.video.pacing import (
    PlaybackTally,
    due_frame,
    item_length,
    pass_number,
    position,
    seconds_shown,
)
from agent.video.probe import DEFAULT_LIMITS, ClipInfo, ClipLimits, ClipProblem, probe_clip

SEEK_AHEAD_S = 2.0  # further behind than this, seek rather than decode every frame up to it
END_SLACK_FRAMES = 2  # a clip whose data ends this close to its header's end is not truncated

Clock = Callable[[], float]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only (not musl, macOS)
    return trim if callable(trim) else None


def return_freed_memory() -> None:
    """Give the heap's free pages back after a clip. Frame buffers are megabytes; glibc
    raises its mmap threshold after the first such free, so later ones come from the heap
    and stay there when freed: RSS drifted up over clip changes while glibc's in-use count
    stayed flat (no leak; bench/video.py prints both). `malloc_trim` costs ~0.6 ms."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class ClipPlayer:
    """Plays `path` into a Surface of `target_size`; loops for `duration_s`, else once.

    Raises ClipProblem when the clip is refused (see probe.py). During playback a clip
    that turns out damaged stops: `frame_at` returns None and `problem` says why. With
    `audio`, its sound track (if any) plays too, or silence when it cannot: never a
    ClipProblem for sound."""

    def __init__(
        self,
        path: Path,
        target_size: tuple[int, int],
        clock: Clock = time.monotonic,
        *,
        duration_s: float | None = None,
        info: ClipInfo | None = None,
        choice: DecoderChoice | None = None,
        limits: ClipLimits = DEFAULT_LIMITS,
        audio: bool = False,
    ) -> None:
        self.info = info if info is not None else probe_clip(Path(path), limits)
        self._clock = clock
        self._decoder = FrameDecoder(Path(path), target_size, choice, limits)
        self.choice = self._decoder.choice
        self.loop = duration_s is not None
        self.length_s = item_length(self.info.duration_s, duration_s)
        self._duration_s = duration_s
        self._rate = float(self.info.frame_rate)
        self.tally = PlaybackTally(self.info.frame_count)
        self.surface = pygame.Surface(target_size)
        self.surface.fill((0, 0, 0))
        self.problem: ClipProblem | None = None
        self._started: float | None = None
        self._decoder_pass = 0
        self._decoded_index = -1  # the last frame taken from the decoder in this pass
        self._at_end = False  # the decoder gave its last frame of this pass
        self._closed = False
        self.audio: ClipAudio | None = None
        if audio and self.info.has_audio:
            try:
                self.audio = open_clip_audio(Path(path), limits)
            except BaseException:
                self._decoder.close()
                raise

    # --- the clock ------------------------------------------------------------------

    def start(self) -> None:
        """The item begins now (by the injected clock), its first frame already drawn:
        decoding it first (the decoder's threads start, its pipeline fills: ~0.1 s for
        720p here) keeps that cost out of the clip's time, so no frame is dropped for it."""
        self.frame_at(0.0)
        self._started = self._clock()

    def elapsed(self) -> float:
        if self._started is None:
            self.start()
        assert self._started is not None
        return self._clock() - self._started

    def frame_now(self) -> pygame.Surface | None:
        return self.frame_at(self.elapsed())

    # --- frames ---------------------------------------------------------------------

    @property
    def frames_dropped(self) -> int:
        return self.tally.frames_dropped

    @property
    def frames_shown(self) -> int:
        return self.tally.frames_shown

    @property
    def audio_samples_queued(self) -> int:
        """Samples of sound handed to the mixer (at its rate); 0 without sound."""
        return 0 if self.audio is None else self.audio.samples_queued

    @property
    def shown_index(self) -> int | None:
        """The index (in its pass) of the frame on the surface, None before the first."""
        return None if self.tally.last is None else self.tally.last[1]

    def ended(self, elapsed: float) -> bool:
        return self._closed or self.problem is not None or elapsed >= self.length_s

    def seconds_shown(self, elapsed: float) -> float:
        """For `playback.ended`: the seconds on screen if the item stops at `elapsed`."""
        return seconds_shown(elapsed, self.info.duration_s, self._duration_s)

    def frame_at(self, elapsed: float) -> pygame.Surface | None:
        """The zone's picture at `elapsed` seconds into the item, or None once the item is
        over (or the clip turned out damaged: see `problem`). The same Surface is updated
        in place and returned each time; draw it before the next call."""
        clip_position = (
            None if self.ended(elapsed) else position(elapsed, self.info.duration_s, self.loop)
        )
        if clip_position is None:
            self._stop_audio()
            return None
        pass_index = pass_number(elapsed, self.info.duration_s, self.loop)
        picture = self._picture_at(pass_index, clip_position)
        if picture is None:
            self._stop_audio()
        elif self.audio is not None:
            # After the picture: on start() the sound begins once the first frame is up.
            self.audio.play_to(clip_position, pass_index)
        return picture

    def _picture_at(self, pass_index: int, clip_position: float) -> pygame.Surface | None:
        due = due_frame(clip_position, self._rate, self.info.frame_count)
        if self.tally.last is not None and (pass_index, due) <= self.tally.last:
            return self.surface  # the frame on screen is still the one due
        try:
            found = self._decode_up_to(pass_index, clip_position, due)
            if found is None:
                self._check_not_truncated(due)
                return self.surface  # the last frame of the pass stays until the pass ends
        except ClipProblem as problem:
            self.problem = problem
            return None
        frame, index = found
        if self.tally.show(pass_index, index):
            self._draw(frame)
        return self.surface

    def _check_not_truncated(self, due: int) -> None:
        """The decoder ran out before the frame due: the end of the clip, or its data ends
        well before its header says (a truncated download that still probed). Found at
        the decoder's end when that is short of the header's last frame, so the last
        picture is not held while the due frame catches up with the slack."""
        last = self.info.frame_count - 1
        ends_early = self._at_end and self._decoded_index < last - END_SLACK_FRAMES
        if ends_early or due > self._decoded_index + END_SLACK_FRAMES:
            # Nothing decoded since a seek far ahead: the data ends before the time asked.
            where = "near" if self._decoded_index >= 0 else "before"
            at = max(self._decoded_index, 0) if self._decoded_index >= 0 else due
            raise ClipProblem(
                self.info.path,
                "truncated",
                f"the clip's data ends {where} {at / self._rate:.1f} s "
                f"of the {self.info.duration_s:.1f} s its header says",
            )

    def _decode_up_to(
        self, pass_index: int, clip_position: float, due: int
    ) -> tuple[av.VideoFrame, int] | None:
        """The latest frame at or before `due` in pass `pass_index`, decoding forward."""
        if pass_index != self._decoder_pass:
            self._decoder.seek(0.0)
            self._decoder_pass, self._decoded_index = pass_index, -1
            self._at_end = False
        if (due - self._decoded_index) / self._rate > SEEK_AHEAD_S:
            self._decoder.seek(clip_position)
            self._at_end = False
        candidate: tuple[av.VideoFrame, int] | None = None
        while True:
            frame = self._decoder.next_frame()
            if frame is None:
                self._at_end = True
                return candidate
            index = round(self._decoder.time_of(frame) * self._rate)
            if index > due:
                self._decoder.push_back(frame)
                return candidate
            candidate = (frame, index)
            self._decoded_index = max(self._decoded_index, index)

    def _draw(self, frame: av.VideoFrame) -> None:
        scaled = self._decoder.scale(frame)
        plane = scaled.planes[0]
        box = self._decoder.box
        # frombuffer reads the RGB plane in place (its rows padded to line_size); the
        # blit is the one copy, into the zone's Surface.
        picture = pygame.image.frombuffer(plane, (box.width, box.height), "RGB", plane.line_size)
        self.surface.blit(picture, (box.x, box.y))

    def _stop_audio(self) -> None:
        if self.audio is not None:
            self.audio.stop()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self.audio is not None:
                self.audio.close()
            self._decoder.close()
            return_freed_memory()

    def __enter__(self) -> ClipPlayer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
