"""The renderer the agent core calls: a Scene in, a fully painted frame out.

Headless by design: it draws onto any pygame.Surface and needs only pygame.freetype,
never pygame.display, so the same code renders for a screen, a serial LED panel and a
screenshot.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pygame
import pygame.freetype

from display_layouts import layouts
from display_layouts.canvas import Frame
from display_layouts.images import ImageCache
from display_layouts.layouts import LayoutDrawer, image_field, text_field

if TYPE_CHECKING:
    from agent.messages import ImageRef

# Layouts the agent fills itself: they always have something to show (a label, a clock).
_ALWAYS_SHOWN = frozenset({"alert_full", "alert_banner", "idle"})
# Preferred order when an unknown layout's text fields are shown generically.
_TITLE_SLOTS = ("title", "headline")


@dataclass(frozen=True)
class Scene:
    layout: str  # a name from display_layouts.catalog.BUILTIN_LAYOUTS
    # Slot values: NFC text, a data: URI, or an ImageRef (remote; drawn without it for now).
    fields: Mapping[str, str | ImageRef]
    board_name: str
    now: datetime  # timezone-aware, in the board's time zone


class Renderer:
    def __init__(self, size: tuple[int, int]) -> None:
        pygame.freetype.init()
        self.size = size
        self.missing_glyphs = 0  # running count of characters the font could not draw
        self._images = ImageCache()

    def draw(self, surface: pygame.Surface, scene: Scene) -> None:
        """Paint every pixel of `surface` for `scene`; never raises on bad content."""
        layout, drawer = self._resolve(scene)
        frame = Frame(surface, self._images)
        drawer(frame, layout.fields, layout.board_name, layout.now)
        self.missing_glyphs += frame.missing_glyphs

    def refresh_at(self, scene: Scene) -> datetime | None:
        """When the frame for `scene` changes by itself: the next minute if it shows a
        clock, otherwise never (None)."""
        layout, _ = self._resolve(scene)
        if layout.layout not in layouts.CLOCK_LAYOUTS:
            return None
        return scene.now.replace(second=0, microsecond=0) + timedelta(minutes=1)

    def _resolve(self, scene: Scene) -> tuple[Scene, LayoutDrawer]:
        """The scene actually drawn: unknown layouts become generic text, and a scene with
        nothing drawable becomes idle (a board must never look switched off)."""
        if scene.layout not in layouts.LAYOUTS:
            scene = _generic(scene)
        if scene.layout not in _ALWAYS_SHOWN and not self._has_content(scene):
            scene = dataclasses.replace(scene, layout="idle", fields={})
        return scene, layouts.LAYOUTS[scene.layout]

    def _has_content(self, scene: Scene) -> bool:
        fields = scene.fields
        if any(text_field(fields, name) is not None for name in fields):
            return True
        uris = (image_field(fields, name) for name in fields)
        return any(uri is not None and self._images.usable(uri) for uri in uris)


def _generic(scene: Scene) -> Scene:
    """An unknown layout shown as fullscreen_text from whatever text its fields hold."""
    texts = {name: text for name in scene.fields if (text := text_field(scene.fields, name))}
    title_slot = next((name for name in _TITLE_SLOTS if name in texts), None)
    title = texts.pop(title_slot) if title_slot is not None else None
    fields: dict[str, str] = {}
    if texts:
        fields["text"] = "\n".join(texts.values())
    if title is not None:
        fields["title"] = title
    return dataclasses.replace(scene, layout="fullscreen_text", fields=fields)
