"""One clip downloaded for a preview, by the board's own downloader.

`download(..., kind="video")` is what a board does with a playlist's clip: the same
three deadlines, size limit, host list and redirect rules as an image, room left on the
disk, the SHA-256 checked when given, and the file probed (agent/assets/clips.py).
Only the whole deadline is shorter: someone is waiting at the other end.
"""

from __future__ import annotations

from typing import BinaryIO

from agent.assets.clips import NOT_PLAYABLE
from agent.assets.download import DownloadError, FetchSettings, download

CLIP_FETCH = FetchSettings(video_deadline_s=300.0, workers=1)
# A draft's clip is held to what a board takes by default ([content] max_video_bytes).
MAX_CLIP_BYTES = CLIP_FETCH.max_video_bytes


def download_clip(url: str, sha256: str | None, settings: FetchSettings, sink: BinaryIO) -> str:
    """Write the clip at `url` to `sink` (a file opened by its path), verified; its hex
    SHA-256, or `DownloadError` saying what went wrong (a clip the probe refused in the
    probe's words, as for a clip on this computer)."""
    try:
        return download(url, sha256, settings, sink, kind="video")
    except DownloadError as exc:
        reason = str(exc).removeprefix(f"{NOT_PLAYABLE}: ")
        raise DownloadError(reason, permanent=exc.permanent) from None
