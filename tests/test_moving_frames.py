"""Issue 18: a moving zone's frame costs a few blits of kept images, nothing more.

Counted, not timed: FreeType renders each piece of a ticker's text once, not per frame;
a frame repaints only the band that moves, and its pixels are those a full draw at the
same instant gives."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no window, ever

from datetime import timedelta

import pygame
import pygame.freetype

from display_layouts import samples, scroll
from display_layouts.fonts import Face, face
from display_layouts.render import Renderer, Scene

SIZE = (1920, 1080)
TICKER = "Cảnh báo ngập lụt • Mất điện khu phố 3 • Nước sinh hoạt cấp lại từ 17 giờ"


def headline(at: float) -> Scene:
    fields = {"title": "Lịch tiêm chủng", "body": "Trạm y tế phường", "ticker": TICKER}
    now = samples.NOW + timedelta(seconds=at)
    return Scene("headline", fields, "B", now, started=samples.NOW)


def test_the_ticker_text_is_rendered_once_not_per_frame() -> None:
    renderer = Renderer(SIZE, fps=30)
    surface = pygame.Surface(SIZE)
    renderer.draw(surface, headline(0))
    for frame in range(1, 4):  # the first frames may bring chunks into view
        renderer.animate(surface, headline(frame / 30))
    before = scroll.Strip.renders
    for frame in range(4, 64):
        assert renderer.animate(surface, headline(frame / 30))
    assert scroll.Strip.renders == before


def test_a_kept_chunk_blends_to_the_pixels_freetype_gives() -> None:
    """The chunk converted to the target's layout (SDL's fast blend) draws what the
    RGBA image FreeType renders draws through SDL's generic blend."""
    pygame.freetype.init()
    font = face(Face.BOLD).font
    font.antialiased = True
    image, _ = font.render("Cảnh báo ngập lụt ", (20, 30, 40), size=48)
    for target in (pygame.Surface((600, 80)), pygame.Surface((600, 80), pygame.SRCALPHA)):
        target.fill((200, 150, 30, 255))
        generic, fast = target.copy(), target.copy()
        generic.blit(image, (3, 5))
        fast.blit(image.convert(scroll._template(scroll.blend_layout(target))), (3, 5))
        assert pygame.image.tobytes(generic, "RGBA") == pygame.image.tobytes(fast, "RGBA")
