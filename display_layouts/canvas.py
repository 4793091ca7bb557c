"""A frame being drawn: the target surface, its proportions and the drawing primitives
the layouts use (fills, auto-fitted text, contain-fitted images)."""

from __future__ import annotations

import pygame

from display_layouts.fonts import Face
from display_layouts.images import ImageCache
from display_layouts.text import Align, Color, TextBlock, TextStyle, VAlign, draw_block, fit
from display_layouts.theme import Metrics


class Frame:
    def __init__(self, surface: pygame.Surface, images: ImageCache) -> None:
        self.surface = surface
        self.rect = surface.get_rect()
        self.metrics = Metrics(self.rect.width, self.rect.height)
        self.images = images
        self.missing_glyphs = 0  # characters dropped while drawing this frame

    def fill(self, rect: pygame.Rect, color: Color) -> None:
        self.surface.fill(color, rect)

    def fit(
        self,
        rect: pygame.Rect,
        text: str,
        face: Face,
        sizes: tuple[int, int],
        max_lines: int | None = None,
    ) -> TextBlock:
        return fit(text, face, (max(0, rect.width), max(0, rect.height)), sizes, max_lines)

    def draw(
        self,
        rect: pygame.Rect,
        block: TextBlock,
        color: Color,
        align: Align = "left",
        valign: VAlign = "top",
    ) -> pygame.Rect:
        """Draw a fitted block inside `rect`; returns the area its lines occupy."""
        self.missing_glyphs += block.dropped
        style = TextStyle(block.face, color, align, valign, antialias=self.metrics.antialias)
        return draw_block(self.surface, rect, block, style)

    def text(
        self,
        rect: pygame.Rect,
        text: str,
        face: Face,
        color: Color,
        sizes: tuple[int, int],
        *,
        max_lines: int | None = None,
        align: Align = "left",
        valign: VAlign = "top",
    ) -> pygame.Rect:
        """Fit `text` to `rect` and draw it there."""
        block = self.fit(rect, text, face, sizes, max_lines)
        return self.draw(rect, block, color, align, valign)

    def image(self, rect: pygame.Rect, uri: str) -> pygame.Rect | None:
        """Draw a `data:` URI image contain-fitted and centred in `rect`, if it decodes."""
        fitted = self.images.fitted(uri, rect)
        if fitted is None:
            return None
        image, target = fitted
        # Blitting through a subsurface keeps a rounding pixel from crossing the zone edge.
        area = rect.clip(self.rect)
        self.surface.subsurface(area).blit(image, target.move(-area.x, -area.y))
        return target
