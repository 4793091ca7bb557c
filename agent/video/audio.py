"""A clip's sound through pygame.mixer, for boards with `[display] audio = true`.

Only `ClipPlayer(audio=True)` builds one, and only for a clip with an audio stream: with
audio off the sound track is never decoded. Sound is a nicety on a signage board, never
a reason to fail a clip: a mixer that cannot open (no sound device) is logged once per
process and the clip plays silently; a sound track that does not decode is logged once
for that clip and the rest of it plays silently.

How: the clip is opened a second time (the same leash as probe.open_clip) so the sound
track is demuxed at its own pace, independent of the picture's decoder and its seeks.
PyAV decodes it, `av.AudioResampler` converts it to the mixer's own rate, sample format
and channels, and quarter-second `pygame.mixer.Sound` buffers go onto one mixer Channel:
one playing, one queued (a Channel queues one Sound), so at most about half a second is
ahead of the picture. The player calls `play_to(clip_position, pass)` once per frame:

- in step, roughly: nothing is queued further than `LEAD_S` beyond the picture's
  position (a picture that stalls silences the sound rather than running away from it);
  a sound track that fell more than `LATE_S` behind (the frame loop was held up, or the
  picture skipped ahead) drops what is queued and seeks to the picture's position;
- a new pass of a looping item seeks the sound track back to its start;
- `stop()` when the item ends, `close()` frees the container and the channel.

Everything runs in the caller's thread; decoding a quarter second of AAC costs well
under a millisecond. The mixer's own thread plays what is queued.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.audio.stream
import av.container
import pygame

from agent.lean_pygame import load_mixer
from agent.video.probe import DEFAULT_LIMITS, ClipLimits, ClipProblem, one_line, open_clip

log = logging.getLogger(__name__)

load_mixer()  # `run` imports pygame without it (agent/lean_pygame.py): a clip's sound needs it

CHUNK_S = 0.25  # one Sound buffer; the Channel holds one playing and one queued
LEAD_S = 2 * CHUNK_S + 0.1  # never queue further ahead of the picture than this
LATE_S = 0.5  # this far behind the picture, drop the queue and seek to it

# Sound codecs whose decoders may run on a clip's sound track (FFmpeg's decoder names):
# the ones content is exported with. Anything else plays silently, as a clip's picture
# codec outside probe.CODECS is refused: no obscure decoder runs on untrusted input.
AUDIO_CODECS = frozenset(
    {"aac", "mp3", "mp3float", "opus", "libopus", "vorbis", "libvorbis", "flac", "alac"}
    | {"ac3", "eac3", "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_f32le"}
)
# pygame.mixer's sample formats (SDL's AUDIO_* values, native byte order) in PyAV's names.
MIXER_FORMATS = {8: "u8", -16: "s16", -32: "s32", 32: "flt"}
MIXER_LAYOUTS = {1: "mono", 2: "stereo", 4: "quad", 6: "5.1(side)"}

Packets = Iterator["av.Packet[av.audio.stream.AudioStream]"]  # generic in the stubs only

_logged: set[str] = set()  # what has been said once per process


def _once(key: str, message: str, *args: object) -> None:
    if key not in _logged:
        _logged.add(key)
        log.warning(message, *args)


@dataclass(frozen=True, slots=True)
class MixerFormat:
    """What the mixer plays: samples per second, PyAV's sample format and layout."""

    rate: int
    sample_format: str
    layout: str
    channels: int
    sample_bytes: int

    @property
    def frame_bytes(self) -> int:
        """Bytes of one sample on every channel, as the mixer's buffers hold them."""
        return self.sample_bytes * self.channels


def open_mixer() -> MixerFormat | None:
    """pygame.mixer, opened if it is not yet (pygame.init opens it when it can); None,
    said once per process, when there is no sound device or its format is not ours."""
    try:
        if pygame.mixer.get_init() is None:
            pygame.mixer.init()
        found = pygame.mixer.get_init()
    except pygame.error as exc:
        _once("mixer", "clips play without sound: the sound device does not open (%s)", exc)
        return None
    if found is None:
        _once("mixer", "clips play without sound: the mixer did not open")
        return None
    rate, size, channels = found
    if size not in MIXER_FORMATS or channels not in MIXER_LAYOUTS:
        _once("format", "clips play without sound: mixer format %s, %s channels", size, channels)
        return None
    return MixerFormat(rate, MIXER_FORMATS[size], MIXER_LAYOUTS[channels], channels, abs(size) // 8)


def open_clip_audio(path: Path, limits: ClipLimits = DEFAULT_LIMITS) -> ClipAudio | None:
    """The clip's sound on the mixer, or None (logged) when it cannot play: no mixer, no
    sound track, a codec outside AUDIO_CODECS, a container that does not open again."""
    mixer = open_mixer()
    if mixer is None:
        return None
    try:
        return ClipAudio(Path(path), mixer, limits)
    except (ClipProblem, av.FFmpegError, OSError, ValueError) as exc:
        log.info("%s plays without sound: %s", Path(path).name, one_line(str(exc)))
        return None


class ClipAudio:
    """One clip's sound track fed to one mixer Channel; see the module's docstring."""

    def __init__(self, path: Path, mixer: MixerFormat, limits: ClipLimits = DEFAULT_LIMITS):
        self.path = path
        self.mixer = mixer
        self.limits = limits
        self._container = open_clip(path, limits)
        try:
            if not self._container.streams.audio:
                raise ValueError("no sound track")
            self._stream: av.audio.stream.AudioStream = self._container.streams.audio[0]
            codec = self._stream.codec_context.name
            if codec not in AUDIO_CODECS:
                raise ClipProblem(path, "codec", f"sound codec {codec!r} is not one we play")
        except BaseException:
            self._container.close()
            raise
        time_base = self._stream.time_base
        self._start = float((self._stream.start_time or 0) * time_base) if time_base else 0.0
        self._chunk_bytes = max(1, round(CHUNK_S * mixer.rate)) * mixer.frame_bytes
        self._channel: pygame.mixer.Channel | None = None
        self.samples_queued = 0  # mixer samples handed to the Channel, all passes
        self.silent = False  # set for good once the sound track failed
        self._pass = 0
        self.queued_until = 0.0  # clip seconds up to which sound is queued
        self._restart(0.0)

    # --- feeding the mixer ----------------------------------------------------------

    def play_to(self, clip_position: float, pass_index: int) -> None:
        """Keep the Channel fed for the picture at `clip_position` in pass `pass_index`."""
        if self.silent:
            return
        try:
            if pass_index != self._pass:
                self._pass = pass_index
                self._rewind(0.0)  # what is queued is the end of the last pass: let it play
            elif self.queued_until < clip_position - self._slack():
                self._drop_queue()
                self._rewind(clip_position)
            while self._has_room() and self.queued_until < clip_position + LEAD_S:
                chunk = self._next_chunk()
                if chunk is None:
                    return
                self._queue(chunk)
        except (ClipProblem, av.FFmpegError, OSError, ValueError, pygame.error) as exc:
            self.silent = True
            self._drop_queue()
            log.warning("%s: the rest plays without sound: %s", self.path.name, one_line(str(exc)))

    def _slack(self) -> float:
        """How far behind the picture the queued sound may end before we seek: LATE_S
        while the Channel plays; once it has run dry, what comes next starts now, so
        it should be the sound of now (a frame loop held up longer than the queue)."""
        channel = self._channel
        return LATE_S if channel is None or channel.get_busy() else 0.1

    def _has_room(self) -> bool:
        channel = self._channel
        return channel is None or not channel.get_busy() or channel.get_queue() is None

    def _queue(self, chunk: bytes) -> None:
        sound = pygame.mixer.Sound(buffer=chunk)
        channel = self._channel
        if channel is None or not channel.get_busy():
            if channel is None:
                # force: the agent plays nothing else; a second clip with sound (two
                # video zones) takes another of the mixer's eight channels.
                channel = self._channel = pygame.mixer.find_channel(True)
                if channel is None:
                    raise pygame.error("no mixer channel")
            channel.play(sound)
        else:
            channel.queue(sound)
        samples = len(chunk) // self.mixer.frame_bytes
        self.samples_queued += samples
        self.queued_until += samples / self.mixer.rate

    def _drop_queue(self) -> None:
        channel = self._channel
        if channel is not None:
            # Stopping a Channel starts the Sound queued on it (pygame plays the queue
            # when a sound ends, however it ends): the second stop ends that one.
            channel.stop()
            channel.stop()

    # --- decoding -------------------------------------------------------------------

    def _rewind(self, seconds: float) -> None:
        """Go to the sound at `seconds` into the clip (0: its start)."""
        target = round((seconds + self._start) / float(self._stream.time_base or 1))
        self._container.seek(max(0, target), stream=self._stream, backward=True)
        with contextlib.suppress(av.FFmpegError, ValueError):
            self._stream.codec_context.flush_buffers()
        self._restart(seconds)

    def _restart(self, seconds: float) -> None:
        """Decode afresh from the container's position, keeping sound from `seconds` on."""
        self._packets: Iterator[av.Packet[av.audio.stream.AudioStream]] = self._container.demux(
            self._stream
        )
        # A new resampler: the old one may hold samples from before the seek.
        self._resampler = av.AudioResampler(
            format=self.mixer.sample_format, layout=self.mixer.layout, rate=self.mixer.rate
        )
        self._buffer = bytearray()
        self._ended = False
        self._skip_until = seconds
        self.queued_until = seconds

    def _next_chunk(self) -> bytes | None:
        """The next CHUNK_S of sound in the mixer's format (less at the end), or None."""
        misses = 0
        while len(self._buffer) < self._chunk_bytes and not self._ended:
            packet = next(self._packets, None)
            if packet is None:
                self._ended = True
                self._take(self._resampler.resample(None))
                break
            frames = self._stream.codec_context.decode(packet)
            misses = 0 if frames else misses + 1
            if misses > self.limits.max_packets_to_frame:
                raise ClipProblem(self.path, "undecodable", "sound packets stopped decoding")
            for frame in frames:
                if frame.time is not None and frame.sample_rate:
                    end = frame.time - self._start + frame.samples / frame.sample_rate
                    if end <= self._skip_until:
                        continue  # before the position a seek asked for
                self._take(self._resampler.resample(frame))
        if not self._buffer:
            return None
        chunk = bytes(self._buffer[: self._chunk_bytes])
        del self._buffer[: self._chunk_bytes]
        return chunk

    def _take(self, frames: list[av.AudioFrame]) -> None:
        for frame in frames:
            # Packed samples in plane 0; the plane's buffer is padded past the samples.
            self._buffer += bytes(frame.planes[0])[: frame.samples * self.mixer.frame_bytes]

    # --- the end ----------------------------------------------------------------------

    def stop(self) -> None:
        """The item is over (or its picture failed): silence now, decode nothing more."""
        self.silent = True
        self._drop_queue()

    def close(self) -> None:
        self.stop()
        self._channel = None
        packets, self._packets = self._packets, iter(())
        close = getattr(packets, "close", None)
        if callable(close):
            close()
        with contextlib.suppress(av.FFmpegError, ValueError):  # frames still queued leak
            self._stream.codec_context.flush_buffers()
        self._container.close()
