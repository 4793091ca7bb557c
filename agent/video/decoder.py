"""Frames decoded and scaled by FFmpeg to the zone's letterboxed size, in hardware if we can.

Scaling: libswscale converts each shown frame straight from the decoder's YUV to RGB24
at the letterboxed size, in C, through one `VideoReformatter` per clip (it keeps the
swscale context between frames). Python never touches a full-size frame: the RGB plane
is handed to `pygame.image.frombuffer` as a buffer (no bytes copy, no numpy). Frames that
are dropped are never converted at all.

Which decoder (`choose_decoder`, pure; `open_decoder` tries it for real):

- Raspberry Pi 4: H.264 has a hardware block (the VideoCore's, up to 1080p60), which
  Linux exposes as a V4L2 memory-to-memory device (`bcm2835-codec-decode`, /dev/video10)
  and FFmpeg drives as the `h264_v4l2m2m` decoder. PyAV's wheels list that decoder on
  every Linux build, so its presence proves nothing: the board must also have a V4L2
  decoding device, and `open_decoder` decodes the first frame with it before trusting
  it, falling back to software (FFmpeg's `h264`) with the reason if anything fails.
- Raspberry Pi 5: there is no H.264 block at all. H.264 is decoded in software on the
  Cortex-A76 cores (1080p30 takes a fraction of one core; see docs/performance.md for what
  we measured on x86 and what remains to measure on a Pi). Its one video block is HEVC
  (`rpi-hevc-dec`, a V4L2 *stateless* decoder using the request API). FFmpeg reaches it
  through the `hevc` decoder with a DRM hwaccel only in Raspberry Pi's patched FFmpeg
  (the V4L2-request hwaccel is not in upstream FFmpeg as far as we know, so not in
  PyAV's wheels); with PyAV from PyPI, HEVC is decoded in software too. Uncertain until
  measured on a Pi 5: whether PyAV built against Raspberry Pi OS's FFmpeg reaches the
  block through `HWAccel("drm")`. Pi 4 has the same HEVC block (up to 4Kp60), with the
  same caveat. So for now: hardware only for H.264 on a Pi 4; advise H.264 ≤ 1080p30.
- VP9/VP8/AV1: software everywhere (no Pi has a block for them).
"""

from __future__ import annotations

import contextlib
import logging
import platform
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.video.codeccontext
import av.video.reformatter
import av.video.stream

from agent.video.probe import (
    DEFAULT_LIMITS,
    ClipLimits,
    ClipProblem,
    close_clip,
    dimension_problem,
    one_line,
    open_clip,
)

log = logging.getLogger(__name__)

V4L2_SYSFS = Path("/sys/class/video4linux")
DEVICE_TREE_MODEL = Path("/proc/device-tree/model")
HARDWARE_DECODERS = {"h264": "h264_v4l2m2m"}  # codec -> FFmpeg's V4L2 M2M decoder


@dataclass(frozen=True, slots=True)
class PlatformInfo:
    """What the board is, for choosing a decoder: its model and its V4L2 devices' names."""

    model: str  # "Raspberry Pi 4 Model B Rev 1.4", or platform.machine() elsewhere
    v4l2_devices: tuple[str, ...] = ()  # e.g. ("bcm2835-codec-decode", "rpi-hevc-dec")

    @property
    def has_m2m_decoder(self) -> bool:
        """A stateful V4L2 decoding device, the kind `*_v4l2m2m` decoders drive."""
        return any("decode" in name and "hevc" not in name for name in self.v4l2_devices)


@dataclass(frozen=True, slots=True)
class DecoderChoice:
    """The FFmpeg decoder a clip gets, whether it is hardware, and why (for the heartbeat's
    `display.video_decoder` and for `doctor`)."""

    name: str
    hardware: bool
    reason: str


def platform_info(
    model_file: Path = DEVICE_TREE_MODEL, v4l2_sysfs: Path = V4L2_SYSFS
) -> PlatformInfo:
    """This board, read from the device tree and sysfs (both absent on a PC: no hardware).
    The paths are parameters so that `doctor`'s tests can give it a Pi's tree."""
    try:
        model = model_file.read_bytes().rstrip(b"\0").decode("utf-8", "replace").strip()
    except OSError:
        model = platform.machine() or "unknown"
    names = []
    try:
        for device in sorted(v4l2_sysfs.iterdir()):
            try:
                names.append((device / "name").read_text(encoding="utf-8").strip())
            except OSError:
                continue
    except OSError:
        pass
    return PlatformInfo(model=model, v4l2_devices=tuple(names))


def choose_decoder(
    codec_name: str, available_codecs: set[str] | frozenset[str], board: PlatformInfo
) -> DecoderChoice:
    """The decoder to try first for `codec_name` on `board` (see the module's docstring)."""
    hardware = HARDWARE_DECODERS.get(codec_name)
    software = "libdav1d" if codec_name == "av1" else codec_name
    if "Raspberry Pi 5" in board.model and codec_name == "h264":
        return DecoderChoice(software, False, "Raspberry Pi 5 has no H.264 hardware decoder")
    if hardware is None:
        return DecoderChoice(software, False, f"no hardware decoder is used for {codec_name}")
    if hardware not in available_codecs:
        return DecoderChoice(software, False, f"this FFmpeg has no {hardware} decoder")
    if not board.has_m2m_decoder:
        return DecoderChoice(software, False, "no V4L2 memory-to-memory decoding device")
    return DecoderChoice(hardware, True, f"V4L2 M2M decoder on {board.model}")


def expected_decoder(codec_name: str = "h264", board: PlatformInfo | None = None) -> DecoderChoice:
    """What this board (or `board`) would try for `codec_name`, without a clip (for
    `doctor`); a clip's own first frame still decides whether a hardware choice holds."""
    return choose_decoder(codec_name, av.codecs_available, board or platform_info())


@dataclass(frozen=True, slots=True)
class Letterbox:
    """Where the picture goes inside the zone: its scaled size and top-left offset."""

    width: int
    height: int
    x: int
    y: int


def letterbox(
    source: tuple[int, int], target: tuple[int, int], sample_aspect: Fraction = Fraction(1)
) -> Letterbox:
    """The largest picture of the clip's display shape that fits the zone, centred; the
    rest of the zone is bars. `sample_aspect` is the pixel shape (anamorphic clips)."""
    source_w, source_h = source
    target_w, target_h = target
    if min(source_w, source_h, target_w, target_h) <= 0:
        raise ValueError(f"sizes must be positive: {source} in {target}")
    display_w = Fraction(source_w) * (sample_aspect if sample_aspect > 0 else 1)
    scale = min(Fraction(target_w) / display_w, Fraction(target_h, source_h))
    width = min(target_w, max(1, round(display_w * scale)))
    height = min(target_h, max(1, round(source_h * scale)))
    return Letterbox(width, height, (target_w - width) // 2, (target_h - height) // 2)


class FrameDecoder:
    """One clip's frames, in order, each with its time in the clip; `scale` converts one.

    Not thread-safe; the player owns it. `close()` frees the decoder and its buffers."""

    def __init__(
        self,
        path: Path,
        target: tuple[int, int],
        choice: DecoderChoice | None = None,
        limits: ClipLimits = DEFAULT_LIMITS,
    ) -> None:
        self.path = Path(path)
        self.limits = limits
        self._container = open_clip(self.path, limits)
        try:
            if not self._container.streams.video:
                raise ClipProblem(self.path, "no_video", "no video stream")
            self._stream: av.video.stream.VideoStream = self._container.streams.video[0]
            codec = self._stream.codec_context.name
            if choice is None:
                choice = choose_decoder(codec, av.codecs_available, platform_info())
            self.choice, self._context = self._open_context(choice)
            width, height = self._stream.codec_context.width, self._stream.codec_context.height
            sar = self._stream.codec_context.sample_aspect_ratio or Fraction(1)
            self.box = letterbox((width, height), target, sar)
        except BaseException:
            close_clip(self._container)
            raise
        self._reformatter = av.video.reformatter.VideoReformatter()
        time_base = self._stream.time_base or Fraction(1, 90000)
        self._time_base = time_base
        self._start = (self._stream.start_time or 0) * time_base
        self._frames: Iterator[av.VideoFrame] = self._decode()
        self._pending: list[av.VideoFrame] = []

    def _open_context(
        self, choice: DecoderChoice
    ) -> tuple[DecoderChoice, av.video.codeccontext.VideoCodecContext]:
        software = self._stream.codec_context
        software.thread_type = "AUTO"  # frame threads: a Pi has four cores
        if not choice.hardware:
            return choice, software
        try:
            context = av.CodecContext.create(choice.name, "r")
            if not isinstance(context, av.video.codeccontext.VideoCodecContext):
                raise TypeError(f"{choice.name} is not a video decoder")
            context.extradata = software.extradata
            context.width, context.height = software.width, software.height
            context.open()
            self._check_first_frame(context)
        except (av.FFmpegError, OSError, ValueError, TypeError, ClipProblem) as exc:
            reason = one_line(f"{choice.name} failed ({exc}); software")
            log.info("%s: %s", self.path.name, reason)
            return DecoderChoice(software.name, False, reason), software
        return choice, context

    def _check_first_frame(self, context: av.video.codeccontext.VideoCodecContext) -> None:
        """Decode the first frame with a hardware context, then rewind: the device is
        trusted only once it has produced a picture of this clip."""
        try:
            for count, packet in enumerate(self._container.demux(self._stream)):
                if count >= self.limits.max_packets_to_frame:
                    break
                if context.decode(packet):
                    return
            raise ClipProblem(self.path, "undecodable", "no frame from the hardware decoder")
        finally:
            self._container.seek(0, stream=self._stream)
            with contextlib.suppress(av.FFmpegError, ValueError):
                context.flush_buffers()  # the probe frame must not come out again

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Frames from the current position on; ends at the end of the clip. A frame
        beyond the size limits (a clip that changes size mid-way) ends it as damaged."""
        misses = 0
        for packet in self._container.demux(self._stream):
            frames = self._context.decode(packet)
            misses = 0 if frames else misses + 1
            if misses > self.limits.max_packets_to_frame:
                raise ClipProblem(self.path, "undecodable", "packets stopped producing frames")
            for frame in frames:
                problem = dimension_problem(frame.width, frame.height, self.limits)
                if problem:
                    raise ClipProblem(self.path, "dimensions", problem)
                yield frame

    def next_frame(self) -> av.VideoFrame | None:
        """The next frame in decoding order's presentation order, or None at the end.
        Raises ClipProblem when the clip turns out damaged past its first frame."""
        if self._pending:
            return self._pending.pop()
        try:
            return next(self._frames, None)
        except ClipProblem:
            raise
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise ClipProblem(self.path, "undecodable", f"decoding failed ({exc})") from None

    def push_back(self, frame: av.VideoFrame) -> None:
        """Return a frame read too early (it is not due yet); `next_frame` gives it again."""
        self._pending.append(frame)

    def time_of(self, frame: av.VideoFrame) -> float:
        """The frame's time in the clip, seconds from its first frame."""
        if frame.pts is None:
            return 0.0
        return float(frame.pts * self._time_base - self._start)

    def seek(self, seconds: float) -> None:
        """Go to the keyframe at or before `seconds` in the clip (0: the start, on loop)."""
        target = int((Fraction(seconds).limit_denominator(1000) + self._start) / self._time_base)
        try:
            self._container.seek(max(0, target), stream=self._stream, backward=True)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise ClipProblem(self.path, "undecodable", f"seeking failed ({exc})") from None
        self._context.flush_buffers()
        self._pending.clear()
        self._frames = self._decode()

    def scale(self, frame: av.VideoFrame) -> av.VideoFrame:
        """The frame as RGB24 at the letterboxed size, converted by libswscale."""
        return self._reformatter.reformat(
            frame,
            width=self.box.width,
            height=self.box.height,
            format="rgb24",
            # Area averaging: the right filter for shrinking (no aliasing), and here the
            # cheapest either way (1080p -> 720p: 5.0 ms a frame vs bilinear's 9.7, 720p
            # -> 1080p: 8.5 vs 11.3; same size, colour conversion only: ~0.5-1.5 ms).
            interpolation=av.video.reformatter.Interpolation.AREA,
        )

    def close(self) -> None:
        """Free the clip: the decoders' queued frames are flushed before the container
        closes (see probe.close_clip; bench/video.py measures 1 000 clip changes)."""
        self._pending.clear()
        frames, self._frames = self._frames, iter(())
        if isinstance(frames, Generator):
            frames.close()
        if self._context is not self._stream.codec_context:
            with contextlib.suppress(av.FFmpegError, ValueError):  # never opened: nothing queued
                self._context.flush_buffers()
        close_clip(self._container)
