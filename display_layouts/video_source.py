"""Where a `video` zone gets its pictures: the renderer's view of the board's clips.

The renderer never decodes video itself: a `video` zone asks the `VideoSource` it was
given for the picture due `elapsed` seconds into the item, already scaled to the zone
(the agent's source, agent/clips.py, decodes with FFmpeg through agent/video/). Without
a source (a layout gallery, a test) a video zone draws nothing and gives its room away,
as an image zone does while its picture is not downloaded.

Pure protocol: nothing here imports PyAV, so loading the layouts costs a board without
video nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol, cast

from display_layouts.image_formats import RemoteImage

if TYPE_CHECKING:
    import pygame


def clip_ref(value: object) -> RemoteImage | None:
    """A slot value that names a downloaded file ({url, sha256}), or None (text, a data:
    URI, nothing)."""
    if isinstance(value, str) or not isinstance(getattr(value, "asset_name", None), str):
        return None
    return cast(RemoteImage, value)


class ClipFailed(Exception):
    """A clip that cannot go on (damaged data found while playing): the zone raises it so
    the frame's fault path skips the item; the source has reported why."""


class VideoSource(Protocol):
    def ready(self, ref: RemoteImage) -> bool:
        """Whether `ref` is a verified clip this board can play now (cheap: asked per frame)."""
        ...

    def frame(
        self, ref: RemoteImage, size: tuple[int, int], started: datetime, elapsed: float
    ) -> pygame.Surface | None:
        """The picture of `size` due `elapsed` seconds into the item that went on screen at
        `started` (past the clip's end, its last picture stays); None only while it has no
        picture at all. Raises `ClipFailed` when it cannot go on."""
        ...

    def frame_rate(self, ref: RemoteImage) -> float | None:
        """Frames per second of the clip, to schedule the next picture; None if unknown."""
        ...
