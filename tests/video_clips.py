"""Test clips made by the tests with PyAV: good ones whose frames say their own number,
and the bad ones issue 17 lists. Tiny (160x90, 10 fps, 3 s: a few KB) so they are cheap.

Each good frame is eight vertical bars, bar i yellow when bit i of the frame number is
set, blue when not: a frame number survives lossy coding and any scaling, and a reader
tells it apart from black letterbox bars (both colours are far from black).
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any

import av
import av.audio.stream
import av.video.stream
import pygame

WIDTH, HEIGHT, RATE, SECONDS = 160, 90, 10, 3
BITS = 8
ONE = (255, 220, 0)  # yellow
ZERO = (0, 60, 255)  # blue

# Near-lossless, a keyframe every second (so seeking is exercised), fast to encode.
X264_OPTIONS = {"preset": "ultrafast", "crf": "12", "g": "10"}
TONE_RATE = 8000  # samples per second of a clip's sine tone (AAC; tiny)
AAC_FRAME = 1024  # samples per AAC frame

VP9_OPTIONS = {"deadline": "realtime", "cpu-used": "8", "crf": "10", "b": "0", "g": "10"}


def h264_encoder() -> str:
    """libx264 when the bundled FFmpeg has it (PyPI's wheels do), else FFmpeg's own name."""
    return "libx264" if "libx264" in av.codecs_available else "h264"


def counter_rgb(number: int, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """One frame's RGB24 bytes: frame `number` in bars (bit 0 leftmost)."""
    row = bytearray()
    for bit in range(BITS):
        bar = width // BITS + (width % BITS if bit == BITS - 1 else 0)
        row += bytes(ONE if number >> bit & 1 else ZERO) * bar
    return bytes(row) * height


def read_counter(surface: pygame.Surface, box: tuple[int, int, int, int]) -> int:
    """The frame number shown in `box` (x, y, width, height) of `surface`; ValueError if
    a bar is neither yellow nor blue (black, a letterbox bar, a blank Surface)."""
    x, y, width, height = box
    number = 0
    for bit in range(BITS):
        colour = surface.get_at((x + int((bit + 0.5) * width / BITS), y + height // 2))
        if colour.r > 160 and colour.b < 100:
            number |= 1 << bit
        elif not (colour.b > 160 and colour.r < 100):
            raise ValueError(f"bar {bit} is {tuple(colour)}, neither yellow nor blue")
    return number


def _frame(rgb: bytes, width: int, height: int) -> av.VideoFrame:
    frame = av.VideoFrame(width, height, "rgb24")
    plane = frame.planes[0]
    if plane.line_size != width * 3:  # rows padded for alignment
        pad = bytes(plane.line_size - width * 3)
        rgb = b"".join(rgb[y * width * 3 : (y + 1) * width * 3] + pad for y in range(height))
    plane.update(rgb)
    return frame


def write_clip(
    path: Path,
    codec: str = "libx264",
    options: dict[str, str] | None = None,
    *,
    frames: int = RATE * SECONDS,
    rate: int = RATE,
    size: tuple[int, int] = (WIDTH, HEIGHT),
    pts: list[int] | None = None,
    container_options: dict[str, str] | None = None,
    fmt: str | None = None,
    tone_hz: float | None = None,
) -> Path:
    """A counter clip; `pts` overrides the frames' timestamps (in 1/rate units);
    `tone_hz` adds a sound track (AAC, mono): a sine at that pitch, as long as the video."""
    width, height = size
    stamps = pts if pts is not None else list(range(frames))
    with av.open(str(path), "w", format=fmt, container_options=container_options or {}) as out:
        stream = out.add_stream(codec, rate=rate, options=options or {})
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        tone = None
        if tone_hz is not None:
            tone = out.add_stream("aac", rate=TONE_RATE, layout="mono")
            assert isinstance(tone, av.audio.stream.AudioStream)
        sound_samples = int(len(stamps) / rate * TONE_RATE)
        written = 0
        for number, stamp in enumerate(stamps):
            frame = _frame(counter_rgb(number, width, height), width, height)
            frame.pts = stamp
            out.mux(stream.encode(frame))
            # The sound up to this frame's end, in whole AAC frames, interleaved.
            until = min(sound_samples, (number + 1) * TONE_RATE // rate)
            while tone is not None and tone_hz is not None and written + AAC_FRAME <= until:
                out.mux(tone.encode(_sine(tone_hz, written)))
                written += AAC_FRAME
        out.mux(stream.encode(None))
        if tone is not None:
            out.mux(tone.encode(None))
    return path


def _sine(hz: float, start: int) -> av.AudioFrame:
    """AAC_FRAME samples of a sine at half volume, from sample `start` of the track."""
    frame = av.AudioFrame(format="fltp", layout="mono", samples=AAC_FRAME)
    frame.sample_rate = TONE_RATE
    step = 2 * math.pi * hz / TONE_RATE
    samples = (0.5 * math.sin(step * (start + n)) for n in range(AAC_FRAME))
    frame.planes[0].update(struct.pack(f"<{AAC_FRAME}f", *samples))
    frame.pts = start
    return frame


def h264_clip(path: Path, **kwargs: Any) -> Path:
    encoder = h264_encoder()
    return write_clip(path, encoder, X264_OPTIONS if encoder == "libx264" else {}, **kwargs)


def vp9_clip(path: Path, **kwargs: Any) -> Path:
    return write_clip(path, "libvpx-vp9", VP9_OPTIONS, **kwargs)


# --- bad clips ------------------------------------------------------------------------


def truncated_clip(path: Path, good: Path, keep: float = 0.5) -> Path:
    data = good.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def text_clip(path: Path) -> Path:
    path.write_text("This is a text file, not a video.\n" * 20, encoding="utf-8")
    return path


def ten_hour_clip(path: Path) -> Path:
    """Three frames, the last ten hours after the first: the header says 10 h, the file
    is a few KB (the cheap way to an absurd duration)."""
    return h264_clip(path, frames=3, pts=[0, 1, 10 * 3600 * RATE])


def absurd_size_clip(path: Path, good_ivf: Path, size: tuple[int, int] = (65535, 65535)) -> Path:
    """A VP9 IVF whose file header and every keyframe claim `size` (VP9's uncompressed
    header stores width-1 and height-1 as 16 bits each after the sync code)."""
    data = bytearray(good_ivf.read_bytes())
    if data[:4] != b"DKIF":
        raise ValueError(f"{good_ivf} is not an IVF file")
    width, height = size
    data[12:16] = struct.pack("<HH", width, height)
    offset, keyframes = 32, 0  # the file header, then frames: size (4), pts (8), data
    while offset + 12 <= len(data):
        start = offset + 12
        # Profile 0 keyframe: 8 bits of flags, 24 bits of sync code, 4 of colour config.
        if data[start] & 0xF4 == 0x80 and data[start + 1 : start + 4] == b"\x49\x83\x42":
            header = int.from_bytes(data[start : start + 9], "big")
            for bit, value in ((36, width - 1), (52, height - 1)):
                shift = 9 * 8 - bit - 16
                header = (header & ~(0xFFFF << shift)) | (value << shift)
            data[start : start + 9] = header.to_bytes(9, "big")
            keyframes += 1
        offset = start + int.from_bytes(data[offset : offset + 4], "little")
    if not keyframes:
        raise ValueError(f"{good_ivf}: no profile 0 VP9 keyframe found")
    path.write_bytes(bytes(data))
    return path


def audio_only_clip(path: Path) -> Path:
    """An MP4 holding one second of silent AAC and nothing else."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=8000)
        for index in range(8):
            frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
            frame.sample_rate = 8000
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.pts = index * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def playlist_clip(path: Path) -> Path:
    """An HLS playlist named .mp4 that points at a local file. FFmpeg's hls demuxer follows
    references; recent FFmpeg's hls probe also wants a playlist's extension, and the
    probe's demuxer whitelist refuses it whatever the name (two locks; this tests both)."""
    path.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n/etc/hostname\n", "utf-8")
    return path
