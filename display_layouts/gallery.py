"""The sample gallery of docs/layouts.md: every built-in layout at its intended sizes,
alerts as authorities send them, and the alert banner over a running item.

    python -m display_layouts.gallery [FOLDER]     (default: docs/gallery)

LCD frames are stored at half size (the files stay small; the design is proportional),
LED frames as the dot view a passer-by sees. The same `render` draws the golden images
the tests compare against.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no window, ever
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame

from display_layouts import samples, theme
from display_layouts.image_formats import RemoteImage
from display_layouts.led import dot_view
from display_layouts.render import Renderer, Scene
from display_layouts.sample_video import SAMPLE_VIDEOS

LCD_SIZES = ((1920, 1080), (1080, 1920), (1366, 768))
LED_SIZES = ((256, 64), (128, 32))
# Where each layout is meant to be used (CONTRACT §4): LED-only layouts skip the LCDs
# in the gallery, LCD-only ones the LED panels; the tests still draw every one at every
# size.
INTENDED: Mapping[str, Sequence[tuple[int, int]]] = {
    "fullscreen_text": (*LCD_SIZES, *LED_SIZES),
    "headline": (*LCD_SIZES, *LED_SIZES),
    "image_caption": LCD_SIZES,
    "led_text": LED_SIZES,
    "video": (*LCD_SIZES, *LED_SIZES),
    "alert_full": (*LCD_SIZES, *LED_SIZES),
    "alert_banner": (*LCD_SIZES, *LED_SIZES),
    "idle": (*LCD_SIZES, *LED_SIZES),
}
LED_PITCH = 4
# Alerts as authorities send them (samples.ALERT_EXAMPLES), on the screens most boards
# have; and the banner over a running item, as the board composes them.
EXAMPLE_SIZES = ((1920, 1080), (1080, 1920))
BANNER_CONTENT = "headline"


def render(
    layout: str, size: tuple[int, int], fields: Mapping[str, str | RemoteImage] | None = None
) -> pygame.Surface:
    """The layout with its sample notice at the fixed sample time, ticker at its start."""
    surface = pygame.Surface(size)
    values = samples.notices()[layout] if fields is None else fields
    scene = Scene(layout, values, samples.BOARD_NAME, samples.NOW, started=samples.NOW)
    Renderer(size, videos=SAMPLE_VIDEOS).draw(surface, scene)
    return surface


def over_content(
    size: tuple[int, int],
    content: str = BANNER_CONTENT,
    banner: Mapping[str, str | RemoteImage] | None = None,
) -> pygame.Surface:
    """The alert banner over a playlist item, composed as agent.screen.Screen composes
    them (the tests hold the two to the same pixels): the item laid out above the band,
    unless the band fills most of the canvas (LED panels), then the band over it."""
    surface = pygame.Surface(size)
    renderer = Renderer(size, videos=SAMPLE_VIDEOS)
    fields = samples.notices()["alert_banner"] if banner is None else banner
    band = Scene("alert_banner", fields, samples.BOARD_NAME, samples.NOW, started=samples.NOW)
    item = samples.notices()[content]
    base = Scene(content, item, samples.BOARD_NAME, samples.NOW, started=samples.NOW)
    surface.fill(theme.BACKGROUND)
    area = renderer.draw_overlay(surface, band)
    above = surface
    if area.height > 0 and area.top >= size[1] // 2:
        above = surface.subsurface(pygame.Rect(0, 0, size[0], area.top))
    renderer.draw(above, base)
    renderer.draw_overlay(surface, band)
    return surface


def picture(frame: pygame.Surface) -> pygame.Surface:
    """A frame as the gallery shows it: LED panels as dots, LCDs at half size."""
    width, height = frame.get_size()
    if min(width, height) < theme.LED_UNIT:
        return dot_view(frame, LED_PITCH)
    return pygame.transform.smoothscale(frame, (width // 2, height // 2))


def file_name(layout: str, size: tuple[int, int]) -> str:
    return f"{layout}-{size[0]}x{size[1]}.png"


def write_gallery(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for layout, sizes in INTENDED.items():
        for size in sizes:
            path = folder / file_name(layout, size)
            pygame.image.save(picture(render(layout, size)), str(path))
            written.append(path)
    for size in EXAMPLE_SIZES:
        for name, fields in samples.ALERT_EXAMPLES.items():
            path = folder / file_name(f"alert_full-{name.removeprefix('alert-')}", size)
            pygame.image.save(picture(render("alert_full", size, fields)), str(path))
            written.append(path)
    for size in (*EXAMPLE_SIZES, *LED_SIZES):
        path = folder / file_name(f"alert_banner-over-{BANNER_CONTENT}", size)
        pygame.image.save(picture(over_content(size)), str(path))
        written.append(path)
    return written


def main(argv: Sequence[str]) -> int:
    folder = Path(argv[0]) if argv else Path("docs/gallery")
    for path in write_gallery(folder):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
