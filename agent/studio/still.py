"""A still of a layout as the board draws it, `at` seconds after the item went on screen
(scrolling text and tickers have moved on by then): the board's own renderer, drawn
into memory, never a window.

Rendering shares pygame's font caches and the renderer's frame state: one render at a
time (the page asks for five sizes at once, four times a second while text scrolls).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from agent.preview.draft import BOARD_NAME, board_zone

if TYPE_CHECKING:
    import pygame

    from agent.messages import PlaylistItem
    from agent.preview.clips import ClipStore
    from display_layouts.library import LayoutLibrary
    from display_layouts.render import Renderer

_RENDER_LOCK = threading.Lock()
# Renderers kept for the sizes in use (a renderer holds fitted text between frames).
_MAX_RENDERERS = 16
_renderers: dict[tuple[int, tuple[int, int], bool], Renderer] = {}


def _renderer(library: LayoutLibrary, size: tuple[int, int], led: bool) -> Renderer:
    from display_layouts.render import Renderer

    key = (id(library), size, led)
    found = _renderers.get(key)
    if found is None or found.library is not library:
        if len(_renderers) >= _MAX_RENDERERS:
            _renderers.clear()
        found = Renderer(size, library=library, panel="led" if led else None)
        _renderers[key] = found
    return found


def hold_renders(timeout_s: float) -> bool:
    """Wait (at most `timeout_s`) for the render under way and never let another start:
    for the studio's exit. Whether the renders were stopped in time."""
    return _RENDER_LOCK.acquire(timeout=timeout_s)


class ClipsFailed(Exception):
    """Clips found damaged while decoding up to the frame due: each one sentence."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__("; ".join(failures))
        self.failures = failures


def still_png(
    library: LayoutLibrary,
    item: PlaylistItem,
    size: tuple[int, int],
    led: bool,
    at: float,
    *,
    clips: ClipStore | None = None,
) -> bytes:
    """The PNG of `item` on a canvas of `size` `at` seconds after it started; with `led`,
    the LED dot view (larger than the panel: dots and the dark between them). Video zones
    show `clips`' frame due at `at`; `ClipsFailed` when a clip cannot get there."""
    import pygame

    from display_layouts.led import dot_view
    from display_layouts.render import Scene

    started = datetime.now(board_zone())
    scene = Scene(
        item.layout,
        item.fields,
        BOARD_NAME,
        started + timedelta(seconds=at),
        started=started,
    )
    with _RENDER_LOCK:
        surface = pygame.Surface(size)
        renderer = _renderer(library, size, led)
        renderer.videos = clips
        renderer.draw(surface, scene)
        failures = [] if clips is None else clips.take_failures()
        if failures:
            raise ClipsFailed(failures)
        picture = dot_view(surface) if led else surface
        return quick_png(picture)


def quick_png(surface: pygame.Surface) -> bytes:
    """`surface` as a PNG compressed for speed, not size: the page asks for a frame of
    each size four times a second while text scrolls, over loopback, and pygame's own
    writer takes three times as long (measured, medians of 8 interleaved: 1920×1080 in
    55 ms instead of 170 ms; 78 KiB instead of 19). The same pixels
    (tests/studio/test_api.py checks it)."""
    import struct
    import zlib

    import pygame

    width, height = surface.get_size()
    raw = pygame.image.tobytes(surface, "RGB")
    stride = width * 3
    # Each row with filter type 0 (none) in front: the PNG's raw image data.
    rows = b"".join(b"\x00" + raw[y * stride : (y + 1) * stride] for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        checksum = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", checksum)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(rows, 1)),
            chunk(b"IEND", b""),
        )
    )
