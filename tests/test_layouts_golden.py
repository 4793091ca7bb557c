"""Every built-in layout at its intended sizes, compared with reference images, and
Vietnamese with every diacritic in every layout at every size.

The references in tests/golden/ are the gallery's frames (display_layouts.gallery) at a
quarter of their size for LCDs (a layout is proportional; the files stay small) and at
full size for LED panels. The comparison tolerates what another FreeType version or a
hinting change does (edges a pixel off: after the reduction they differ by a few levels)
but not a changed design or a lost mark: at most MAX_CHANGED_SHARE of the pixels may
differ by more than CHANGED (out of 255) in a channel (a title losing its diacritics
changes 0.04 %, moving the body text by a pixel 0 %), and the mean absolute difference
must stay under MAX_MEAN_DIFFERENCE (a changed colour).

To regenerate them after an intended change, look at the new gallery first, then:

    SIGNAGE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_layouts_golden.py
"""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no window, ever

from pathlib import Path

import pygame
import pytest

from display_layouts import samples, theme
from display_layouts.catalog import BUILTIN_LAYOUTS
from display_layouts.gallery import INTENDED, file_name, render
from display_layouts.render import Renderer, Scene
from display_layouts.sample_video import SAMPLE_VIDEOS

GOLDEN = Path(__file__).resolve().with_name("golden")
UPDATE = os.environ.get("SIGNAGE_UPDATE_GOLDEN") == "1"
MAX_MEAN_DIFFERENCE = 2.0
CHANGED = 64
MAX_CHANGED_SHARE = 0.0001
CASES = [(layout, size) for layout, sizes in INTENDED.items() for size in sizes]
EVERY_SIZE = [(1920, 1080), (1080, 1920), (1366, 768), (256, 64), (128, 32), (64, 32)]


def reduced(frame: pygame.Surface) -> pygame.Surface:
    width, height = frame.get_size()
    if min(width, height) < theme.LED_UNIT:
        return frame
    return pygame.transform.smoothscale(frame, (width // 4, height // 4))


def differences(a: pygame.Surface, b: pygame.Surface) -> tuple[float, float]:
    """(mean absolute difference per channel, share of pixels changed by > CHANGED)."""
    first, second = pygame.image.tobytes(a, "RGB"), pygame.image.tobytes(b, "RGB")
    channels = [abs(x - y) for x, y in zip(first, second, strict=True)]
    pixels = [max(channels[i : i + 3]) for i in range(0, len(channels), 3)]
    changed = sum(1 for value in pixels if value > CHANGED)
    return sum(channels) / len(channels), changed / len(pixels)


def test_golden_images_cover_every_builtin_layout() -> None:
    assert set(INTENDED) == set(BUILTIN_LAYOUTS)


@pytest.mark.parametrize(
    ("layout", "size"), CASES, ids=[f"{layout}-{w}x{h}" for layout, (w, h) in CASES]
)
def test_layout_looks_as_it_did(layout: str, size: tuple[int, int]) -> None:
    picture = reduced(render(layout, size))
    path = GOLDEN / file_name(layout, size)
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        pygame.image.save(picture, str(path))
        pytest.skip("reference image rewritten")
    assert path.exists(), f"no reference image: run with SIGNAGE_UPDATE_GOLDEN=1 ({path})"
    reference = pygame.image.load(str(path))
    assert reference.get_size() == picture.get_size()
    mean, changed = differences(picture, reference)
    assert mean < MAX_MEAN_DIFFERENCE
    assert changed <= MAX_CHANGED_SHARE, f"{changed:.4%} of the pixels changed"


@pytest.mark.parametrize("size", EVERY_SIZE, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("layout", sorted(BUILTIN_LAYOUTS))
def test_every_vietnamese_diacritic_renders(layout: str, size: tuple[int, int]) -> None:
    renderer = Renderer(size, videos=SAMPLE_VIDEOS)
    fields = samples.with_every_diacritic(layout)
    surface = pygame.Surface(size)
    scene = Scene(layout, fields, samples.DIACRITICS, samples.NOW, started=samples.NOW)
    renderer.draw(surface, scene)
    assert renderer.missing_glyphs == 0  # no letter dropped for want of a glyph
    assert renderer.zone_errors == 0
    colours = pygame.image.tobytes(surface, "RGB")
    assert len(set(zip(colours[::3], colours[1::3], colours[2::3], strict=True))) > 1


def test_samples_hold_every_vietnamese_letter() -> None:
    assert len(samples.ALL_LETTERS) == 146
    assert set(samples.ALL_LETTERS) <= set(samples.DIACRITICS)
