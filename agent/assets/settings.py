"""How downloads are bounded (the `[content]` keys), and the one error a download raises."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agent.config import ContentConfig
from display_layouts.image_check import DEFAULT_LIMITS, ImageLimits

DEFAULT_MAX_ASSET_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_VIDEO_BYTES = 200 * 1024 * 1024
_MAX_MESSAGE = 200

# What a download is for: a picture (checked in memory) or a clip (streamed to disk and
# probed there; larger, so its own size limit, deadline and a disk-space check).
AssetKind = Literal["image", "video"]


def free_bytes(directory: str) -> int:
    """Bytes an unprivileged writer may still use on the disk holding `directory`."""
    return shutil.disk_usage(directory).free if Path(directory).is_dir() else 0


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """How downloads are bounded (the `[content]` configuration keys)."""

    max_bytes: int = DEFAULT_MAX_ASSET_BYTES
    connect_timeout_s: float = 10.0
    first_byte_timeout_s: float = 20.0
    deadline_s: float = 120.0  # the whole download, redirects included
    workers: int = 3
    # Empty: any host. Otherwise the only hosts contacted, and where redirects may go.
    allowed_hosts: frozenset[str] = frozenset()
    max_redirects: int = 3
    limits: ImageLimits = field(default=DEFAULT_LIMITS)
    max_video_bytes: int = DEFAULT_MAX_VIDEO_BYTES
    video_deadline_s: float = 1800.0
    min_free_bytes: int = 64 * 1024 * 1024  # a clip download leaves this much disk free
    # Free space on the disk of a folder (injected by tests that fill a disk).
    disk_free: Callable[[str], int] = field(default=free_bytes, compare=False)


def settings_from(content: ContentConfig) -> FetchSettings:
    """The download limits the `[content]` section sets."""
    return FetchSettings(
        max_bytes=content.max_asset_bytes,
        connect_timeout_s=content.download_connect_timeout_s,
        first_byte_timeout_s=content.download_first_byte_timeout_s,
        deadline_s=content.download_deadline_s,
        workers=content.download_workers,
        allowed_hosts=frozenset(content.allowed_hosts),
        limits=image_limits(content),
        max_video_bytes=content.max_video_bytes,
        video_deadline_s=content.video_download_deadline_s,
        min_free_bytes=content.min_free_disk_mb * 1024 * 1024,
    )


def image_limits(content: ContentConfig) -> ImageLimits:
    return ImageLimits(max_side=content.max_image_side, max_pixels=content.max_image_pixels)


class DownloadError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message[:_MAX_MESSAGE])
        self.permanent = permanent
