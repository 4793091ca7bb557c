"""What a zone paints with: the target surface, the scene's values and drawing primitives
(fills, auto-fitted text, placed images), every one confined to the zone's rectangle."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import pygame

from display_layouts.canvas import Canvas
from display_layouts.fonts import Face
from display_layouts.image_formats import ImageSource, RemoteImage, decode_data_uri, is_data_uri
from display_layouts.images import Fit, ImageCache, read_image_file, uri_key
from display_layouts.plain import clean
from display_layouts.text import Align, Color, TextBlock, TextStyle, VAlign, draw_block, fit
from display_layouts.video_source import VideoSource

T = TypeVar("T")


def text_value(fields: Mapping[str, object], name: str) -> str | None:
    """The slot's text, or None if it is absent, blank, or not text at all."""
    value = fields.get(name)
    if not isinstance(value, str) or is_data_uri(value) or not clean(value).strip():
        return None
    return value


class Images:
    """Slot values to decoded images: data: URIs inline, references through the source."""

    def __init__(self, source: ImageSource | None, cache: ImageCache | None = None) -> None:
        self.source = source
        self.cache = cache or ImageCache()

    def get(self, value: object) -> tuple[str, pygame.Surface] | None:
        """(cache key, image) for a slot value, or None if it is not a usable image now."""
        if isinstance(value, str):
            if not is_data_uri(value):
                return None
            key = uri_key(value)
            image = self.cache.decoded(key, lambda: decode_data_uri(value))
        else:
            found = self._file(value)
            if found is None:
                return None
            key, path = found
            image = self.cache.decoded(key, lambda: read_image_file(path))
        return None if image is None else (key, image)

    def ready(self, value: object) -> bool:
        """Whether `value` is an image that can be shown now (cheap after the first ask:
        the renderer asks every frame)."""
        if isinstance(value, str):
            uri = value
            return is_data_uri(uri) and self.cache.usable_key(
                uri_key(uri), lambda: decode_data_uri(uri)
            )
        found = self._file(value)
        if found is None:
            return False
        key, path = found
        return self.cache.usable_key(key, lambda: read_image_file(path))

    def _file(self, ref: object) -> tuple[str, Path] | None:
        digest = getattr(ref, "asset_name", None)
        if self.source is None or not isinstance(digest, str):
            return None
        try:  # a slot value with a text asset name: a remote image reference
            path = self.source(cast(RemoteImage, ref))
        except Exception:  # a failing cache must cost the picture, not the frame
            return None
        # Keyed by content: the same picture under two URLs is decoded once.
        return None if path is None else (f"asset:{digest}", path)


class Context:
    """A scene as zones see it: slot values, time, images, and the kind of canvas."""

    def __init__(
        self,
        scene: Any,
        canvas: Canvas,
        images: Images,
        fps: int,
        *,
        videos: VideoSource | None = None,
    ) -> None:
        self.fields: Mapping[str, object] = scene.fields
        self.board_name: str = scene.board_name
        self.now: datetime = scene.now
        self.started: datetime = scene.started or scene.now
        self.noticed: datetime = getattr(scene, "noticed", None) or self.started
        self.images = images
        self.videos = videos  # the board's clips (None: video zones draw nothing)
        self.fps = fps
        self.canvas = canvas
        self.size = canvas.size
        self.led = canvas.led  # the pixel font and no antialiasing
        # What zones worked out from the scene, not the time: the renderer paints the
        # frames of one scene with one Paint (Renderer.step), so that is done once.
        self._kept: dict[tuple[int, str], tuple[pygame.Rect, Any]] = {}

    def kept(self, zone: object, rect: pygame.Rect, make: Callable[[], T], part: str = "") -> T:
        """`make()` for `zone` in `rect`, worked out once for this scene (and surface): it
        may depend on the scene's values and the rect, never on the time."""
        key = (id(zone), part)
        held = self._kept.get(key)
        if held is not None and held[0] == rect:
            return cast(T, held[1])
        value = make()
        self._kept[key] = (pygame.Rect(rect), value)
        return value

    @property
    def elapsed(self) -> float:
        """Seconds the item has been on screen: what scrolling offsets are computed from."""
        return max(0.0, (self.now - self.started).total_seconds())

    def variable(self, name: str) -> str | None:
        if name == "board_name":
            return self.board_name if clean(self.board_name).strip() else None
        return text_value(self.fields, name)

    def image(self, slot: str) -> tuple[str, pygame.Surface] | None:
        return self.images.get(self.fields.get(slot))

    def filled(self, slot: str) -> bool:
        """Whether the slot holds something drawable (text, or an image ready to show)."""
        return self.variable(slot) is not None or self.images.ready(self.fields.get(slot))

    def face(self, font: str) -> Face:
        if self.led:
            return Face.PIXEL
        return Face.BOLD if font == "bold" else Face.REGULAR

    def fit(
        self,
        rect: pygame.Rect,
        text: str,
        face: Face,
        sizes: tuple[int, int],
        max_lines: int | None = None,
    ) -> TextBlock:
        return fit(text, face, (max(0, rect.width), max(0, rect.height)), sizes, max_lines)


class Paint(Context):
    """A context with a surface to paint on; every primitive stays inside its rect."""

    def __init__(
        self,
        surface: pygame.Surface,
        scene: Any,
        canvas: Canvas,
        images: Images,
        fps: int,
        *,
        videos: VideoSource | None = None,
    ) -> None:
        super().__init__(scene, canvas, images, fps, videos=videos)
        self.surface = surface
        self.missing_glyphs = 0  # characters dropped because no font has them

    def fill(self, rect: pygame.Rect, color: Color) -> None:
        self.surface.fill(color, rect)

    def text(
        self,
        rect: pygame.Rect,
        block: TextBlock,
        color: Color,
        align: Align = "left",
        valign: VAlign = "top",
    ) -> pygame.Rect:
        """Draw a fitted block inside `rect`; returns the area its lines occupy."""
        self.missing_glyphs += block.dropped
        style = TextStyle(block.face, color, align, valign, antialias=not self.led)
        return draw_block(self.surface, rect, block, style)

    def blit_image(self, rect: pygame.Rect, slot: str, mode: Fit) -> bool:
        """Draw the slot's image into `rect` (never beyond it); False if there is none."""
        found = self.image(slot)
        area = rect.clip(self.surface.get_rect())
        placed = None if found is None else self.images.cache.placed(*found, area, mode)
        if placed is None:
            return False
        self.blit(area, *placed)
        return True

    def blit(self, rect: pygame.Rect, image: pygame.Surface, target: pygame.Rect) -> None:
        """Blit `image` at `target`, cut to `rect` (a cover-fitted image overhangs it)."""
        area = rect.clip(self.surface.get_rect())
        if area.width > 0 and area.height > 0:
            self.surface.subsurface(area).blit(image, target.move(-area.x, -area.y))

    def area(self, rect: pygame.Rect) -> pygame.Surface | None:
        """The part of the surface inside `rect`, for drawing that must stay there."""
        clipped = rect.clip(self.surface.get_rect())
        if clipped.width <= 0 or clipped.height <= 0:
            return None
        return self.surface.subsurface(clipped)


def pixel_sizes(sizes: tuple[float, float], height: int) -> tuple[int, int]:
    """Font size bounds from percent of the zone's height to pixels."""
    low, high = sizes
    return max(1, round(height * low / 100)), max(1, round(height * high / 100))
