"""The bundled fonts' measuring (display_layouts.fonts): what it measures, and that the
measuring keeps no glyphs it will not draw (issue 18: memory)."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no window, ever

import subprocess
import sys

import pytest

from display_layouts.fonts import DEEP, FONT_DIR, TALL, Face, FontFace, VerticalMetrics
from tests.support import REPO


@pytest.mark.parametrize("kind", list(Face))
@pytest.mark.parametrize("antialiased", [True, False])
def test_vertical_metrics_are_the_drawing_fonts_own(kind: Face, antialiased: bool) -> None:
    # They are measured on a Font opened for the purpose (so its big probe glyphs do not
    # stay in the drawing Font's cache): it must measure exactly what the drawing Font
    # would, at small sizes where hinting rounds and at a clock's size.
    loaded = FontFace(FONT_DIR / kind.value)
    loaded.font.antialiased = antialiased
    drawing = loaded.font
    for size in (4, 7, 9, 12, 16, 23, 32, 48, 97, 160, 333, 450):
        tall, deep = drawing.get_rect(TALL, size=size), drawing.get_rect(DEEP, size=size)
        assert loaded.vertical(size) == VerticalMetrics(
            ascent=max(drawing.get_sized_ascender(size), tall.y),
            descent=max(-drawing.get_sized_descender(size), deep.height - deep.y),
        )


IDLE_CLOCK_PROBE = """
import os
os.environ["SDL_VIDEODRIVER"] = "dummy"
from datetime import datetime, timezone
import pygame
from display_layouts.render import Renderer, Scene
def rss_kb():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1])
surface, renderer = pygame.Surface((1920, 1080)), Renderer((1920, 1080))
now = datetime(2026, 12, 3, 8, 30, tzinfo=timezone.utc)
renderer.draw(surface, Scene("fullscreen_text", {"text": "Xin chào"}, "Bảng tin", now, started=now))
before = rss_kb()
renderer.draw(surface, Scene("idle", {}, "Bảng tin", now, started=now))
print(rss_kb() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_fitting_the_idle_clock_keeps_no_bitmaps_of_the_sizes_it_tried() -> None:
    # Issue 18: the idle screen's big clock, fitted over ten sizes up to ~450 px, kept
    # the probe glyphs measured at each in the drawing Font's cache: 3.8-4.0 MB of RSS
    # the first time at 1920x1080. Now ~0.7 MB (its own glyphs, drawn at one size).
    grown_kb = int(
        subprocess.run(
            [sys.executable, "-c", IDLE_CLOCK_PROBE],
            check=True,
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
        ).stdout.split()[-1]
    )
    assert grown_kb < 2048
