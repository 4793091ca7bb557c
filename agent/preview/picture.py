"""The pictures a preview shows: the board's frame or its LED dot view, and the band of
problems across the top when the files being edited are invalid."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.preview.draft import Preview, PreviewError
from display_layouts.input_problems import Problem

if TYPE_CHECKING:
    import pygame

    from display_layouts.render import Renderer, Scene


def frame(renderer: Renderer, scene: Scene, preview: Preview) -> pygame.Surface:
    """The picture the preview shows: the board's frame, or its LED dot view;
    `PreviewError` when a clip turned out damaged while decoding up to the frame due."""
    import pygame

    surface = pygame.Surface(preview.size)
    renderer.draw(surface, scene)
    failures = preview.clips.take_failures()
    if failures:
        raise PreviewError([Problem("", failure) for failure in failures])
    return view(surface, preview)


def render_still(preview: Preview, at_seconds: float | None = None) -> pygame.Surface:
    """The picture `at_seconds` after the item went on screen (`preview.started`): where a
    ticker or a scrolling line stands then, the same pixels for the same seconds; now when
    None. The LED dot view with `preview.led`. `PreviewError` when the files are invalid.
    What `preview --out [--at]` writes and the studio answers with."""
    renderer, scene = preview.load(at_seconds)
    return frame(renderer, scene, preview)


def view(surface: pygame.Surface, preview: Preview) -> pygame.Surface:
    from display_layouts.led import dot_view

    return dot_view(surface) if preview.led else surface


def with_problems(picture: pygame.Surface, problems: list[str]) -> pygame.Surface:
    """`picture` with a red band across its top listing `problems` (the last good frame
    stays visible below, so the author sees both)."""
    import pygame

    from display_layouts.fonts import Face
    from display_layouts.text import TextStyle, draw_block, fit

    shown = picture.copy()
    width, height = shown.get_size()
    band = pygame.Rect(0, 0, width, max(height // 3, min(height, 48)))
    shown.fill((170, 18, 26), band)
    zone = band.inflate(-max(4, width // 50), -max(4, band.height // 10))
    text = "\n".join(problems[:8])
    block = fit(text, Face.REGULAR, zone.size, (10, max(10, band.height // 6)))
    draw_block(shown, zone, block, TextStyle(Face.REGULAR, (255, 255, 255)))
    return shown


def view_size(preview: Preview) -> tuple[int, int]:
    from display_layouts.led import pitch_for

    if not preview.led:
        return preview.size
    pitch = pitch_for(preview.size)
    return preview.size[0] * pitch, preview.size[1] * pitch


# Room left for the window's frame, a taskbar or a menu bar.
SCREEN_SHARE = 0.9


def fitted_size(view: tuple[int, int], desktop: tuple[int, int]) -> tuple[int, int]:
    """`view` as large as it is when it fits in `SCREEN_SHARE` of `desktop`; otherwise
    shrunk to fit, its aspect kept (a 1080x1920 portrait frame on a laptop's 1366x768, a
    256x64 panel's dots 3072 pixels wide)."""
    width, height = view
    room_w, room_h = (max(1, int(side * SCREEN_SHARE)) for side in desktop)
    if width <= room_w and height <= room_h:
        return view
    scale = min(room_w / width, room_h / height)
    return max(1, int(width * scale)), max(1, int(height * scale))
