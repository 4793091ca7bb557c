"""The gallery (display_layouts.gallery) shows what boards show: alerts as authorities
send them, and the alert banner over a running item, composed as the screen does."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no window, ever

from pathlib import Path

import pygame
import pytest

from agent.output import HeadlessOutput
from agent.screen import Frame, Screen
from display_layouts import gallery, samples, theme
from display_layouts.render import Renderer, Scene


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (256, 64)], ids=str)
def test_the_banner_over_content_is_the_frame_the_board_draws(size: tuple[int, int]) -> None:
    banner = samples.notices()["alert_banner"]
    item = samples.notices()[gallery.BANNER_CONTENT]
    base = Scene(gallery.BANNER_CONTENT, item, samples.BOARD_NAME, samples.NOW, started=samples.NOW)
    band = Scene("alert_banner", banner, samples.BOARD_NAME, samples.NOW, started=samples.NOW)
    output = HeadlessOutput(size)
    Screen(output, Renderer(size), on_error=lambda _message: None).show(Frame(base, band))
    composed = gallery.over_content(size)
    assert pygame.image.tobytes(composed, "RGB") == pygame.image.tobytes(output.canvas, "RGB")


def test_the_banner_over_content_shows_both() -> None:
    frame = gallery.over_content((1920, 1080))
    top, bottom = frame.get_at((960, 20))[:3], frame.get_at((1900, 1060))[:3]
    assert top == theme.PANEL  # the item's header band, above the alert
    assert bottom == theme.ALERT_BACKGROUND  # the band


def test_the_gallery_has_every_layout_the_alert_examples_and_the_banner_over_content(
    tmp_path: Path,
) -> None:
    written = {path.name for path in gallery.write_gallery(tmp_path)}
    for name in samples.ALERT_EXAMPLES:
        assert f"alert_full-{name.removeprefix('alert-')}-1920x1080.png" in written
    assert "alert_banner-over-headline-1920x1080.png" in written
    assert "alert_banner-over-headline-128x32.png" in written
    assert {path.name for path in tmp_path.iterdir()} == written
