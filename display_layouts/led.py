"""A frame as a technician sees it on an LED panel: one round dot per pixel, dark between.

Used by `signage-agent preview --led`, and to show LED frames in the gallery: a 128×32
PNG scaled up smoothly would look like an LCD, which is not what people in the street
see.
"""

from __future__ import annotations

from functools import lru_cache

import pygame

# The widest view that still fits a laptop screen; a dot is never smaller than this.
_MAX_VIEW_WIDTH = 1600
_MIN_PITCH = 3
_MAX_PITCH = 12
_DOT_SHARE = 0.8  # dot diameter as a share of the pitch (the rest is the dark gap)


def pitch_for(size: tuple[int, int]) -> int:
    """Pixels per LED in the view: as large as fits `_MAX_VIEW_WIDTH`, within bounds."""
    return max(_MIN_PITCH, min(_MAX_PITCH, _MAX_VIEW_WIDTH // max(1, size[0])))


def dot_view(panel: pygame.Surface, pitch: int | None = None) -> pygame.Surface:
    """`panel` drawn as LED dots, `pitch` view pixels per LED."""
    width, height = panel.get_size()
    pitch = pitch or pitch_for((width, height))
    view = pygame.transform.scale(panel, (width * pitch, height * pitch))  # nearest: no blur
    view.blit(_dot_mask(width, height, pitch), (0, 0), special_flags=pygame.BLEND_MULT)
    return view


@lru_cache(maxsize=4)
def _dot_mask(width: int, height: int, pitch: int) -> pygame.Surface:
    """White dots on black, one per LED: multiplied with the scaled frame."""
    cell = pygame.Surface((pitch, pitch))
    cell.fill((0, 0, 0))
    radius = max(1.0, pitch * _DOT_SHARE / 2)
    pygame.draw.circle(cell, (255, 255, 255), (pitch / 2, pitch / 2), radius)
    row = pygame.Surface((width * pitch, pitch))
    for x in range(width):
        row.blit(cell, (x * pitch, 0))
    mask = pygame.Surface((width * pitch, height * pitch))
    for y in range(height):
        mask.blit(row, (0, y * pitch))
    return mask
