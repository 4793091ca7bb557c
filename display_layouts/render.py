"""The renderer the agent core calls: a Scene in, a painted frame out.

Headless by design: it draws onto any pygame.Surface and needs only pygame.freetype,
never pygame.display, so the same code renders for a screen, a serial LED panel and a
screenshot.

A frame is painted in two layers. `draw` paints everything; `animate` repaints only the
zones that change by themselves (tickers, clocks, scrolling text), each over what lies
beneath it: the background and the decorations (rects) it sits on, since no other zone
may overlap it. A decoration that changes (a pulsing band) is repainted with the zones
lying over it. A static screen therefore costs nothing between scene changes
(`refresh_at` says None), and a running ticker costs one band per frame.

`step` is `animate` for a caller that knows only the time changed (the agent's loop): the
frame's Paint is reused, with what its zones worked out (Context.kept), and a scrolling
line over a uniform backdrop moves its pixels in place (Zone.slide) and paints only the
few columns that came into view (issue 18).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import pygame

from display_layouts import theme
from display_layouts.canvas import Canvas, Panel
from display_layouts.fonts import init_freetype
from display_layouts.image_formats import ImageSource, RemoteImage
from display_layouts.layout import Arrangement, Layout, arrange
from display_layouts.library import LayoutLibrary, builtin_library
from display_layouts.moving import HeldFrame, Moving, uniform_beneath
from display_layouts.paint import Context, Images, Paint, text_value
from display_layouts.video_source import ClipFailed, VideoSource, clip_ref
from display_layouts.zones.base import Zone
from display_layouts.zones.text import TextZone, kept_smaller

log = logging.getLogger(__name__)

# Preferred order when an unknown layout's text fields are shown generically.
_TITLE_SLOTS = ("title", "headline")
_GENERIC = "fullscreen_text"
_IDLE = "idle"


@dataclass(frozen=True)
class Scene:
    layout: str  # a name from the layout library
    # Slot values: NFC text, a data: URI, or a remote image (drawn once its file is cached).
    fields: Mapping[str, str | RemoteImage]
    board_name: str
    now: datetime  # timezone-aware, in the board's time zone
    # When the item went on screen: a ticker has scrolled (now - started) × speed pixels.
    started: datetime | None = None  # None: now
    # Drawn with the built-in layout of this name, not a board's replacement of it: the
    # fallback when a replaced alert or idle layout fails to draw (alerts are never lost).
    builtin: bool = False
    # When the item became news (a new alert's text): an attention pulse runs from then.
    # None: `started`. Like the times above, not part of the key.
    noticed: datetime | None = None

    def key(self) -> tuple[object, ...]:
        """What decides the scene's pixels apart from the time (only animated zones show
        it) and the readiness of its images: scenes with equal keys look alike."""
        # A copy of the fields: a key kept to compare against later must not change.
        return self.layout, dict(self.fields), self.board_name, self.builtin


class Renderer:
    def __init__(
        self,
        size: tuple[int, int],
        *,
        library: LayoutLibrary | None = None,
        images: ImageSource | None = None,
        fps: int = 30,
        panel: Panel | None = None,
        videos: VideoSource | None = None,
    ) -> None:
        """`panel`: whether the output is an LED panel (pixel font, no antialiasing) or an
        LCD; by default guessed from the size (see theme.LED_UNIT)."""
        init_freetype()
        self.size = size
        self.fps = max(1, fps)
        self.panel = panel
        self.library = library or builtin_library()
        self.missing_glyphs = 0  # running count of characters no font could draw
        self.zone_errors = 0  # paints that failed (a bug; the board went on)
        self.last_error = ""  # what the last of them was, for the display.error
        self._logged: set[tuple[str, str]] = set()  # failures already logged with a traceback
        self._images = Images(images)
        self.videos = videos  # what `video` zones play (None: they draw nothing)
        self._frame: HeldFrame | None = None
        # Half a frame early counts as due: a loop waking a little early must not skip a
        # ticker step; a clock repainted just before its minute is simply repainted again.
        self._early = timedelta(seconds=0.5 / self.fps)

    # --- the core's calls ----------------------------------------------------------------

    def draw(self, surface: pygame.Surface, scene: Scene) -> None:
        """Paint every pixel of `surface` for `scene`; never raises on bad content."""
        try:
            self._draw(surface, scene)
        except Exception as exc:  # a bug outside any one zone: an empty board beats a dead one
            self._failed(f"layout {scene.layout}", exc, whole=True)
            self._frame = None
            surface.fill(theme.BACKGROUND)

    def _draw(self, surface: pygame.Surface, scene: Scene) -> None:
        layout, scene = self._resolve(scene)
        paint = self._paint_on(surface, scene)
        arrangement = layout.arrangement(paint.canvas)
        background = arrangement.background or theme.BACKGROUND
        surface.fill(background)
        key = self._key(layout, scene, paint.canvas)
        frame = HeldFrame(key, paint.canvas, id(surface), background)
        for zone, rect in self._placed(arrangement, paint):
            frame.placed.append((zone, rect))
            if zone.decoration:
                frame.decorations.append((zone, rect))
            due = zone.next_change(paint, rect)
            if due is None or zone.decoration:  # a decoration under the zones after it
                self._paint(zone, paint, rect)
            if due is not None:
                frame.moving.append(Moving(zone, rect.clip(surface.get_rect())))
        for item in frame.moving:
            item.uniform = uniform_beneath(frame, item)
        self._paint_moving(frame, paint, force=True)
        self.missing_glyphs += paint.missing_glyphs
        frame.paint = paint
        self._frame = frame

    def animate(self, surface: pygame.Surface, scene: Scene) -> list[pygame.Rect]:
        """Repaint the animated zones that are due at `scene.now` over the static layer;
        the rectangles repainted ([] when nothing moved). A scene other than the one
        last drawn is drawn whole."""
        layout, resolved = self._resolve(scene)
        frame = self._frame
        paint = self._paint_on(surface, resolved)
        key = self._key(layout, resolved, paint.canvas)
        if frame is None or frame.key != key or frame.surface != id(surface):
            self.draw(surface, scene)
            return [surface.get_rect()]
        frame.paint = paint  # the same look, maybe another start (the item shown again)
        return self._paint_moving(frame, paint, force=False)

    def step(
        self, surface: pygame.Surface, now: datetime, *, in_place: bool = True
    ) -> list[pygame.Rect] | None:
        """`animate` for the scene last drawn or animated on `surface`, at `now`: for a
        caller that knows nothing but the time changed (agent/screen.py), so the scene
        is not resolved, keyed and laid out again each frame. `in_place`: the surface
        holds what was painted on it (not dimmed since), so a scrolling line may move its
        pixels. None when no frame of `surface` is held (draw it)."""
        frame = self._frame
        paint = frame.paint if frame is not None else None
        if frame is None or paint is None or frame.surface != id(surface):
            return None
        paint.now = now
        return self._paint_moving(frame, paint, force=False, in_place=in_place)

    def next_due(self) -> datetime | None:
        """When the frame last drawn next changes by itself (`refresh_at` of its scene,
        from the due times its moving zones were given when last painted)."""
        frame = self._frame
        if frame is None:
            return None
        return min((item.due for item in frame.moving if item.due is not None), default=None)

    def refresh_at(self, scene: Scene) -> datetime | None:
        """When the frame for `scene` next changes by itself: the next minute for an
        HH:MM clock, the next second with seconds, now + 1/fps while something scrolls;
        None for a static frame."""
        layout, resolved = self._resolve(scene)
        frame = self._frame
        # The size last drawn at (the core may draw on another size than announced).
        canvas = frame.canvas if frame is not None else self._canvas(self.size)
        context = Context(resolved, canvas, self._images, self.fps, videos=self.videos)
        if frame is not None and frame.key == self._key(layout, resolved, canvas):
            placed = [(item.zone, item.rect) for item in frame.moving]
        else:
            placed = self._placed(layout.arrangement(canvas), context)
        changes = (zone.next_change(context, rect) for zone, rect in placed)
        return min((change for change in changes if change is not None), default=None)

    def draw_overlay(self, surface: pygame.Surface, scene: Scene) -> pygame.Rect:
        """Paint `scene`'s zones over what `surface` shows, without a background (the
        alert banner over running content); returns the area painted. Call it again
        after `animate` when an animated zone of the content lies beneath it."""
        layout, scene = self._resolve(scene)
        paint = self._paint_on(surface, scene)
        placed = self._placed(layout.arrangement(paint.canvas), paint)
        for zone, rect in placed:
            self._paint(zone, paint, rect)
        self.missing_glyphs += paint.missing_glyphs
        if not placed:
            return pygame.Rect(0, 0, 0, 0)
        rects = [rect for _, rect in placed]
        return rects[0].unionall(rects[1:]).clip(surface.get_rect())

    # --- painting ------------------------------------------------------------------------

    def _paint_moving(
        self, frame: HeldFrame, paint: Paint, *, force: bool, in_place: bool = False
    ) -> list[pygame.Rect]:
        early = self._early
        dirty = []
        for item in frame.moving:
            if not force and item.due is not None and paint.now < item.due - early:
                continue
            if item.zone.decoration:  # painted in its place by `draw`; over, once due
                if not force and item.due is not None:
                    dirty.append(self._repaint_over(frame, paint, item.rect))
            else:
                if not (in_place and item.uniform and self._slide(frame, paint, item)):
                    self._paint_beneath(frame, paint, item.rect)
                    self._paint(item.zone, paint, item.rect)
                dirty.append(item.rect)
            item.due = item.zone.next_change(paint, item.rect)
        return dirty

    def _slide(self, frame: HeldFrame, paint: Paint, item: Moving) -> bool:
        """Move a scrolling zone's pixels in place (Zone.slide); False: paint it whole."""
        try:
            return item.zone.slide(
                paint, item.rect, lambda strip: self._paint_beneath(frame, paint, strip)
            )
        except Exception as exc:  # as a failed paint: counted, and the board goes on
            self._failed(f"zone {item.zone.name!r} ({item.zone.kind})", exc)
            return True

    def _repaint_over(self, frame: HeldFrame, paint: Paint, rect: pygame.Rect) -> pygame.Rect:
        """Repaint a changed decoration with the zones lying over it (a pulsing band
        under its label), in the frame's order; returns the area repainted."""
        # Grown until no zone lies half in it: a text drawn twice over itself would
        # thicken its antialiased edges.
        over = [placed for zone, placed in frame.placed if not zone.decoration]
        area, grown = pygame.Rect(rect), None
        while grown != area:
            grown = area
            area = area.unionall([placed for placed in over if placed.colliderect(area)])
        area = area.clip(paint.surface.get_rect())
        self._paint_beneath(frame, paint, area)
        for zone, placed in frame.placed:
            if not zone.decoration and placed.colliderect(area):
                self._paint(zone, paint, placed)
        return area

    def _paint_beneath(self, frame: HeldFrame, paint: Paint, rect: pygame.Rect) -> None:
        """Restore what lies under `rect`: the background and the decorations there. The
        surface's clip keeps their fills inside `rect` (a rect zone only fills)."""
        surface = paint.surface
        kept = surface.get_clip()
        surface.set_clip(rect)
        # A decoration that fills all of `rect` hides what lies under it: the background
        # and the decorations before it are not filled in vain (a ticker's band: one fill
        # a frame, not two).
        decorations, first = frame.decorations, -1
        for index, (zone, area) in enumerate(decorations):
            if zone.fills and area.contains(rect):
                first = index
        try:
            if first < 0:
                surface.fill(frame.background)
            for index in range(max(0, first), len(decorations)):
                zone, area = decorations[index]
                if area.colliderect(rect):
                    self._paint(zone, paint, area)
        finally:
            surface.set_clip(kept)

    def _paint(self, zone: Zone, paint: Paint, rect: pygame.Rect) -> None:
        try:
            zone.paint(paint, rect)
        except Exception as exc:  # one broken zone must not take the frame, or the board, down
            self._failed(f"zone {zone.name!r} ({zone.kind})", exc)

    def _failed(self, what: str, exc: Exception, *, whole: bool = False) -> None:
        """Count a failure and keep its reason; the traceback is logged once per kind of
        failure, not at every frame of an animation that keeps failing."""
        self.zone_errors += 1
        damaged = isinstance(exc, ClipFailed)  # the content's fault, not the code's
        reason = str(exc) if damaged else f"{type(exc).__name__}: {exc}"
        self.last_error = reason if whole else f"{what}: {reason}"
        key = (what, type(exc).__name__)
        if key in self._logged:
            log.debug("%s failed again", what)
            return
        if len(self._logged) > 100:
            self._logged.clear()
        self._logged.add(key)
        if damaged:
            log.warning("%s cannot be drawn: %s", what, exc)
        else:
            log.error("%s failed to draw", what, exc_info=exc)

    def _placed(self, arrangement: Arrangement, context: Context) -> list[tuple[Zone, pygame.Rect]]:
        def shown(zone: Zone) -> bool:
            filled = all(context.filled(slot) for slot in zone.when_filled)
            return filled and zone.has_content(context)

        placed = [
            (zone, pygame.Rect(rect)) for zone, rect in arrange(arrangement, context.size, shown)
        ]
        return kept_smaller(placed, context)

    def fitted_sizes(self, scene: Scene) -> dict[str, int]:
        """The font size, in pixels, of each text zone `scene` shows on a canvas of this
        renderer's size: what checks of a layout's hierarchy compare."""
        layout, resolved = self._resolve(scene)
        context = Context(
            resolved, self._canvas(self.size), self._images, self.fps, videos=self.videos
        )
        sizes = {}
        for zone, rect in self._placed(layout.arrangement(context.canvas), context):
            size = zone.font_size(context, rect) if isinstance(zone, TextZone) else None
            if size is not None:
                sizes[zone.name] = size
        return sizes

    def _canvas(self, size: tuple[int, int]) -> Canvas:
        return Canvas.of(size, self.panel)

    def _paint_on(self, surface: pygame.Surface, scene: Scene) -> Paint:
        canvas = self._canvas(surface.get_size())
        return Paint(surface, scene, canvas, self._images, self.fps, videos=self.videos)

    def _key(self, layout: Layout, scene: Scene, canvas: Canvas) -> tuple[object, ...]:
        """What the static layer depends on: not the time (only animated zones show it),
        but whether each image is ready (a download may finish while the item shows)."""
        ready = tuple(self._images.ready(value) for value in scene.fields.values())
        return id(layout), scene.key(), ready, canvas

    # --- which layout ------------------------------------------------------------------------

    def _resolve(self, scene: Scene) -> tuple[Layout, Scene]:
        """The layout and scene actually drawn: an unknown layout becomes generic text, and
        a scene with nothing drawable becomes idle (a board must never look switched off)."""
        library = builtin_library() if scene.builtin else self.library
        layout = library.get(scene.layout)
        if layout is None:
            scene = _generic(scene)
            layout = self.library.get(scene.layout)
        if layout is None or (not layout.reserved and not self._has_content(scene)):
            scene = dataclasses.replace(scene, layout=_IDLE, fields={})
            layout = self.library.get(_IDLE) or _EMPTY
        return layout, scene

    def _has_content(self, scene: Scene) -> bool:
        fields = scene.fields
        if any(text_value(fields, name) is not None for name in fields):
            return True
        if any(self._images.ready(value) for value in fields.values()):
            return True
        videos = self.videos
        return videos is not None and any(
            (ref := clip_ref(value)) is not None and videos.ready(ref) for value in fields.values()
        )


# Drawn only if a library has no idle layout: the background alone.
_EMPTY = Layout(_IDLE, "nothing to show", True, Arrangement(theme.BACKGROUND, ()))


def _generic(scene: Scene) -> Scene:
    """An unknown layout shown as fullscreen_text from whatever text its fields hold."""
    texts = {name: text for name in scene.fields if (text := text_value(scene.fields, name))}
    title_slot = next((name for name in _TITLE_SLOTS if name in texts), None)
    title = texts.pop(title_slot) if title_slot is not None else None
    fields: dict[str, str] = {}
    if texts:
        fields["text"] = "\n".join(texts.values())
    elif title is not None:  # only a title: it becomes the notice
        fields["text"], title = title, None
    if title is not None:
        fields["title"] = title
    return dataclasses.replace(scene, layout=_GENERIC, fields=fields)
