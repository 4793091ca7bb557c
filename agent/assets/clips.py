"""What a clip download adds to an image's: room on the disk, and a probe of the file.

A clip is up to `[content] max_video_bytes` (200 MiB): it is never held in memory, and
the SD card it lands on also holds the board's content, its outbox and the system's logs,
so a download that would leave less than `min_free_bytes` free is stopped (a declared
length is checked before the body, a streamed one as it grows). Once complete and its
SHA-256 checked, the file is probed where it lies (agent/video/probe.py): a text file
named `.mp4`, an audio-only file, a ten-hour or 65535×65535 header are refused here, with
the probe's one-line reason, before an item waits on them. PyAV is imported only by a
board that is sent a clip.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import BinaryIO

from agent.assets.settings import DownloadError, FetchSettings

_MB = 1024 * 1024
NOT_PLAYABLE = "not a playable clip"


@functools.cache
def playable_reason() -> str | None:
    """Why this board cannot decode video (asked once a run: a failing import of PyAV
    searches the whole path each time), or None."""
    from agent.video import unavailable_reason

    return unavailable_reason()


def check_can_play() -> None:
    """A permanent DownloadError when this board cannot decode video (no PyAV): fetching
    200 MiB it can never show would only fill its disk."""
    reason = playable_reason()
    if reason is not None:
        raise DownloadError(reason, permanent=True)


class DiskRoom:
    """What the disk can take of one download, counted when it starts."""

    def __init__(self, directory: str, free: int, keep: int) -> None:
        self.directory = directory
        self.free = free
        self.keep = keep
        if free - keep <= 0:
            raise DownloadError(self._message("no room for a clip"))

    def check(self, size: int) -> None:
        """Stop the download once (or before) it would eat into the space kept free."""
        if size > self.free - self.keep:
            raise DownloadError(self._message(f"the clip ({size / _MB:.0f} MB) does not fit"))

    def _message(self, what: str) -> str:
        return (
            f"{what}: {self.free / _MB:.0f} MB free on the disk of {self.directory}, "
            f"{self.keep / _MB:.0f} MB of it kept free ([content] min_free_disk_mb)"
        )


def disk_room(sink: BinaryIO, settings: FetchSettings) -> DiskRoom | None:
    """The room for a download into the file `sink` (None for a sink in memory)."""
    name = getattr(sink, "name", None)
    if not isinstance(name, str):
        return None
    directory = str(Path(name).resolve().parent)
    try:
        free = settings.disk_free(directory)
    except OSError as exc:
        raise DownloadError(f"cannot tell the free disk space: {exc.strerror or exc}") from None
    return DiskRoom(directory, free, settings.min_free_bytes)


def clip_problem(sink: BinaryIO) -> str | None:
    """Why the complete download in the file `sink` is not a clip this board plays."""
    from agent.video.probe import ClipProblem, probe_clip

    name = getattr(sink, "name", None)
    if not isinstance(name, str):
        return f"{NOT_PLAYABLE}: a clip is probed in its file"
    try:
        probe_clip(Path(name))
    except ClipProblem as problem:
        return f"{NOT_PLAYABLE}: {problem.reason}"
    return None
