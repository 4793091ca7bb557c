"""Video clips (issue 17, groundwork): probe a clip, decode it scaled by FFmpeg, pace it.

Nothing in the agent imports this package yet; the integration imports it lazily, only
when a playlist holds a video item, so a board without video pays nothing (no PyAV, no
FFmpeg libraries mapped, no decoder buffers). This module itself imports nothing heavy:
`unavailable_reason()` must answer on a board where PyAV is not installed.

- `probe.py`: is this file a clip the board can play? (`ClipInfo` or `ClipProblem`)
- `decoder.py`: which decoder (hardware where the board has one), frames scaled by
  libswscale to the zone's letterboxed size.
- `pacing.py`: pure arithmetic: which frame is due, what was dropped, looping.
- `player.py`: `ClipPlayer.frame_at(elapsed)` -> a pygame Surface of the zone's size.

See docs/video.md.
"""

from __future__ import annotations

import importlib

INSTALL_HINT = "pip install 'signage-agent[video]'"
NOT_SUPPORTED = "video is not supported on this board"


def unavailable_reason() -> str | None:
    """None when this board can decode video, else one line saying why not and what to do.

    Imports PyAV to find out (its wheels bundle FFmpeg's libraries), so call it only when
    a playlist holds a video item; a board without the `video` extra gets this message
    (for `asset.failed` and `doctor`) instead of an ImportError's traceback."""
    try:
        av = importlib.import_module("av")
    except ImportError as exc:
        return (
            f"video is not supported on this board: PyAV is not installed ({INSTALL_HINT}): {exc}"
        )
    except OSError as exc:  # a wheel whose bundled FFmpeg libraries cannot be loaded
        return f"{NOT_SUPPORTED}: PyAV does not load ({exc})"
    available: set[str] = getattr(av, "codecs_available", set())
    if not any(name in available for name in ("h264", "vp9")):
        return f"{NOT_SUPPORTED}: its FFmpeg has neither an H.264 nor a VP9 decoder"
    return None
