"""Is this file a clip the board can play? Decided before a single frame is shown.

A clip comes from outside (a playlist's URL), so its header is untrusted input: it may
be a text file named `.mp4`, truncated, audio only, claim 65535x65535 pixels or ten
hours. `probe_clip` opens it with FFmpeg held on a short leash and answers with a
`ClipInfo` or raises a `ClipProblem` whose one-line reason names the file; never a
traceback, never a hang:

- only the demuxers for the containers we play (`format_whitelist`): FFmpeg has
  hundreds, and some follow references (an HLS playlist renamed `.mp4` would make it
  open other files or URLs); only the `file` protocol, for the same reason;
- only the decoders we play (`codec_whitelist`), so probing never runs an obscure one;
- `probesize` / `analyzeduration` bound what is read to find the streams, a `timeout`
  (FFmpeg's interrupt callback) bounds how long it may take, and a packet budget bounds
  the search for the first frame;
- limits on size, duration and frame rate are checked before anything is decoded,
  then the first frame must decode: a clip that cannot show its first picture is
  refused here rather than showing black later.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.container
import av.video.stream

# Containers a content manager exports clips in (FFmpeg demuxer names, comma-separated).
FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,ivf"
# Video codecs a board plays (codec names as FFmpeg's streams report them).
CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1"})
# Decoders FFmpeg may open for them while probing (libdav1d is FFmpeg's AV1 decoder).
DECODERS = "h264,hevc,vp8,vp9,libdav1d,av1,h264_v4l2m2m,hevc_v4l2m2m"

ProblemKind = Literal[
    "unreadable",  # missing, empty, not a file, or FFmpeg cannot read it as a container
    "no_video",  # a container without a video stream (audio only, say)
    "codec",  # a video codec the board does not play
    "dimensions",  # no picture size, or beyond the limits
    "duration",  # unknown, or longer than the limit
    "frame_rate",  # unknown, or outside the sane range
    "undecodable",  # the first frame (or a later one, while playing) does not decode
    "truncated",  # found while playing: the data ends well before the header's duration
]


class ClipProblem(Exception):
    """A clip the board refuses to play; `str()` is one line naming the file."""

    def __init__(self, path: Path | str, kind: ProblemKind, reason: str) -> None:
        self.path = Path(path)
        self.kind: ProblemKind = kind
        self.reason = one_line(reason)
        super().__init__(f"{self.path.name}: {self.reason}")


@dataclass(frozen=True, slots=True)
class ClipLimits:
    """What a board accepts; the defaults suit a 1080p LCD board (a 4K clip is allowed:
    FFmpeg scales it down, at a CPU cost the bench shows)."""

    max_width: int = 3840  # the long side, landscape or portrait
    max_height: int = 2160  # the short side
    max_duration_s: float = 3600.0  # a playlist item, not a film; a 10-hour header is refused
    min_frame_rate: float = 1.0
    max_frame_rate: float = 120.0
    probe_bytes: int = 5_000_000  # FFmpeg's probesize: bytes read to find the streams
    analyze_us: int = 5_000_000  # FFmpeg's analyzeduration, in microseconds
    timeout_s: float = 5.0  # for opening, and for each read after
    max_packets_to_frame: int = 600  # packets read looking for a frame before giving up


DEFAULT_LIMITS = ClipLimits()


@dataclass(frozen=True, slots=True)
class ClipInfo:
    """A clip that passed every check, with what playing it needs."""

    path: Path
    container: str  # FFmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    codec: str  # "h264", "vp9", ...
    width: int
    height: int
    sample_aspect: Fraction  # pixel shape; 1 for square pixels
    frame_rate: Fraction
    duration_s: float
    has_audio: bool

    @property
    def frame_count(self) -> int:
        """Frames in one pass, as the pacing counts them (at least one)."""
        return max(1, round(self.duration_s * float(self.frame_rate)))


def one_line(text: str, limit: int = 200) -> str:
    """FFmpeg's messages can carry newlines and a whole path; a reason is one short line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def open_clip(path: Path, limits: ClipLimits = DEFAULT_LIMITS) -> av.container.InputContainer:
    """The container opened under the limits above, or ClipProblem("unreadable")."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ClipProblem(path, "unreadable", f"cannot read the file ({exc.strerror})") from None
    if not path.is_file():
        raise ClipProblem(path, "unreadable", "not a regular file")
    if size == 0:
        raise ClipProblem(path, "unreadable", "the file is empty")
    options = {
        "format_whitelist": FORMATS,
        "protocol_whitelist": "file",
        "codec_whitelist": DECODERS,
        "probesize": str(limits.probe_bytes),
        "analyzeduration": str(limits.analyze_us),
    }
    try:
        return av.open(str(path), mode="r", container_options=options, timeout=limits.timeout_s)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise ClipProblem(
            path, "unreadable", f"not a video file the board can read ({_ffmpeg_reason(exc)})"
        ) from None


def probe_clip(path: Path, limits: ClipLimits = DEFAULT_LIMITS) -> ClipInfo:
    """The clip's facts once it passed every check; ClipProblem otherwise."""
    path = Path(path)
    container = open_clip(path, limits)
    try:
        info = _check_streams(path, container, limits)
        first_frame(path, container, container.streams.video[0], limits)
        return info
    finally:
        close_clip(container)


def close_clip(container: av.container.InputContainer) -> None:
    """Close a container whose decoder may still hold frames: flushed first. Closing
    with frames queued leaks (RSS grew ~10 MiB per 1 000 clips here, PyAV 18.1)."""
    for stream in container.streams.video:
        with contextlib.suppress(av.FFmpegError, ValueError):  # never opened: nothing queued
            stream.codec_context.flush_buffers()
    container.close()


def _check_streams(
    path: Path, container: av.container.InputContainer, limits: ClipLimits
) -> ClipInfo:
    if not container.streams.video:
        kinds: list[str] = sorted({s.type for s in container.streams}) or ["none"]
        raise ClipProblem(path, "no_video", f"no video stream (streams: {', '.join(kinds)})")
    stream = container.streams.video[0]
    codec = stream.codec_context.name
    if codec not in CODECS and (stream.codec_context.codec.name or "") not in CODECS:
        raise ClipProblem(path, "codec", f"video codec {codec!r} is not one the board plays")
    codec = "av1" if codec == "libdav1d" else codec
    width, height = stream.codec_context.width, stream.codec_context.height
    problem = dimension_problem(width, height, limits)
    if problem:
        raise ClipProblem(path, "dimensions", problem)
    duration = clip_duration(container, stream)
    if duration is None:
        raise ClipProblem(path, "duration", "the clip does not say how long it is")
    if duration > limits.max_duration_s:
        raise ClipProblem(
            path,
            "duration",
            f"{duration:.0f} s long, beyond the limit of {limits.max_duration_s:.0f} s",
        )
    rate = stream.average_rate or stream.guessed_rate
    if rate is None or not limits.min_frame_rate <= float(rate) <= limits.max_frame_rate:
        shown = "unknown" if rate is None else f"{float(rate):.4g} fps"
        raise ClipProblem(
            path,
            "frame_rate",
            f"frame rate {shown} is outside {limits.min_frame_rate:g}-"
            f"{limits.max_frame_rate:g} fps",
        )
    sar = stream.codec_context.sample_aspect_ratio
    return ClipInfo(
        path=path,
        container=container.format.name,
        codec=codec,
        width=width,
        height=height,
        sample_aspect=sar if sar and 0.1 <= sar <= 10 else Fraction(1),
        frame_rate=Fraction(rate),
        duration_s=duration,
        has_audio=bool(container.streams.audio),
    )


def dimension_problem(width: int, height: int, limits: ClipLimits = DEFAULT_LIMITS) -> str | None:
    """Why a picture size is refused, or None. Either orientation is accepted."""
    if width <= 0 or height <= 0:
        return f"no valid picture size ({width}x{height}): the header is damaged or absurd"
    long_side, short_side = max(width, height), min(width, height)
    if long_side > limits.max_width or short_side > limits.max_height:
        return (
            f"picture size {width}x{height} is beyond the limit of "
            f"{limits.max_width}x{limits.max_height}"
        )
    return None


def clip_duration(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> float | None:
    """Seconds the video lasts by its headers (the stream's own, else the container's)."""
    candidates: list[float] = []
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        candidates.append(float(stream.duration * stream.time_base))
    if container.duration is not None and container.duration > 0:
        candidates.append(container.duration / av.time_base)
    finite = [c for c in candidates if math.isfinite(c)]
    # The longer claim counts: a clip is refused if any header says it is too long.
    return max(finite) if finite else None


def first_frame(
    path: Path,
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    limits: ClipLimits,
) -> av.VideoFrame:
    """The clip's first decodable frame, within the packet budget; ClipProblem otherwise."""
    try:
        for count, packet in enumerate(container.demux(stream)):
            if count >= limits.max_packets_to_frame:
                break
            for frame in stream.codec_context.decode(packet):
                problem = dimension_problem(frame.width, frame.height, limits)
                if problem:
                    raise ClipProblem(path, "dimensions", f"first frame: {problem}")
                return frame
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise ClipProblem(
            path, "undecodable", f"the first frame does not decode ({_ffmpeg_reason(exc)})"
        ) from None
    raise ClipProblem(path, "undecodable", "no frame decodes from the start of the clip")


def _ffmpeg_reason(exc: BaseException) -> str:
    """FFmpeg's own words without the path it repeats (the problem names the file)."""
    if isinstance(exc, av.FFmpegError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
