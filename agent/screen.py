"""What is on the output, and drawing it only when it changes.

A frame is a base scene (content, idle, or a full-screen alert) and, optionally, an alert
banner laid over the bottom of it. `Screen.show` draws a frame only when it differs from
the one on the output; `refresh` redraws when a clock on it is due.

Drawing never raises: what failed to draw is noted in `faults` (which part, which layout,
why) for the core to act on — skip the item, or fall back to a built-in layout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, TypeVar

import pygame

from agent.messages import DisplayHealth
from agent.output import Output, ScreenOutput, TextSign
from display_layouts.render import Renderer, Scene
from display_layouts.theme import BACKGROUND

log = logging.getLogger(__name__)

T = TypeVar("T")
Part = Literal["base", "banner"]


@dataclass(frozen=True, slots=True)
class DrawFault:
    """A part of the frame on the output that did not draw as it should."""

    part: Part
    layout: str
    message: str


@dataclass(frozen=True, slots=True)
class Frame:
    base: Scene
    banner: Scene | None = None

    def key(self) -> tuple[object, ...]:
        """What decides the pixels, apart from the time (clocks are refreshed separately)."""
        return self.base.key(), self.banner.key() if self.banner is not None else None

    def at(self, now: datetime) -> Frame:
        banner = replace(self.banner, now=now) if self.banner else None
        return Frame(replace(self.base, now=now), banner)


TEXT_LAYOUTS = ("led_text", "fullscreen_text")


def sign_text(frame: Frame) -> str | None:
    """The text of a frame that is nothing but one text (a sign may draw it natively)."""
    base = frame.base
    text = base.fields.get("text")
    if frame.banner is None and base.layout in TEXT_LAYOUTS and set(base.fields) == {"text"}:
        return text if isinstance(text, str) else None
    return None


class Screen:
    def __init__(self, output: Output, renderer: Renderer, on_error: Callable[[str], None]) -> None:
        self.output = output
        self.renderer = renderer
        self.on_error = on_error
        self.frame: Frame | None = None
        self.frames = 0
        self._refresh_at: datetime | None = None
        self._stepped: datetime | None = None  # the time `step` last painted the frame at
        self._banner_at: datetime | None = None  # when the banner on show changes by itself
        self.brightness = 100
        self.power_on = True
        self._dim_frame_to = 100  # software dimming when the panel has no backlight control
        self._stale = False  # power or brightness changed since the frame was drawn
        self._base_surface = output.canvas  # where the base scene is drawn (see _above_banner)
        self._frames_counted: tuple[int, float | None] = (0, None)  # for the measured fps
        self.faults: list[DrawFault] = []  # since the core last took them (take_faults)

    def take_faults(self) -> list[DrawFault]:
        faults, self.faults = self.faults, []
        return faults

    def show(self, frame: Frame) -> bool:
        """Draw `frame` unless it is already on the output as it should look; True when drawn."""
        unchanged = self.frame is not None and frame.key() == self.frame.key()
        if unchanged and not self._stale:
            return False
        if not self.power_on:
            self.frame = frame  # drawn when the display is switched on again
            return False
        self._draw(frame)
        return True

    def set_display(self, power_on: bool, percent: int) -> None:
        """Power and brightness as the output is to have them (agent/display_control.py).
        Switching off blanks the output at once; any other change is drawn by the next
        `show` or `redraw` — so a display woken for an alert shows the alert first, not
        for a moment the frame it had before."""
        if percent != self.brightness:
            self.brightness = percent
            self._dim_frame_to = 100 if self.output.set_backlight(percent) else percent
            self._stale = True
        if power_on == self.power_on:
            return
        self.power_on = power_on
        self.output.set_power(power_on)
        if power_on:
            self._stale = True
        else:  # blank, whether or not the display itself could be powered down
            self.output.canvas.fill((0, 0, 0))
            self.output.present()

    def redraw(self) -> None:
        """Draw the frame on show again when power or brightness changed since it was drawn."""
        if self.frame is not None and self.power_on and self._stale:
            moved = self._stepped  # where `step` left its moving zones, not where `show` did
            self._draw(self.frame if moved is None else self.frame.at(moved))

    def refresh(self, now: datetime) -> None:
        """Repaint the moving parts (ticker, clock) of the frame on show when they are due."""
        due = self._refresh_at is not None and now >= self._refresh_at
        if self.frame is None or not self.power_on or not due:
            return
        frame = self.frame.at(now)
        canvas = self.output.canvas
        areas = self._guard("base", frame.base, self.renderer.animate, self._base_surface) or []
        offset = self._base_surface.get_abs_offset()
        areas = [area.move(offset) for area in areas]
        if frame.banner is not None:  # a ticker may run under the band, or the band scroll
            band = self._guard("banner", frame.banner, self.renderer.draw_overlay, canvas)
            if band is not None:
                areas.append(band)
        try:
            if areas:
                self._dim(areas)
                self.output.present(areas)
                self.frames += 1
        except Exception as exc:  # an output failure must not take the board down
            log.exception("presenting %s failed", frame.base.layout)
            self.on_error(f"presenting {frame.base.layout}: {exc}")
        self.frame = frame
        self._stepped = None
        self._schedule(frame)

    def step(self, now: datetime) -> None:
        """`refresh`, when nothing but the time changed since the frame on show was drawn
        (agent/presenter.py knows): the moving zones that are due repainted over what
        lies beneath them, and only their rectangles handed to the output. With a banner
        that moves or lies over the content, or nothing held to step from, it is
        `refresh` itself."""
        due = self._refresh_at
        if self.frame is None or not self.power_on or due is None or now < due:
            return
        renderer, surface = self.renderer, self._base_surface
        # A banner that moves itself, or one laid over the content (a small LED panel:
        # the content runs beneath it), is drawn again with each frame, as `refresh` does.
        # A still banner below the content (an LCD) is left as it is.
        beneath = self.frame.banner is not None and surface is self.output.canvas
        if beneath or self._banner_at is not None:
            self.refresh(now)
            return
        faults = len(self.faults)
        in_place = self._dim_frame_to >= 100  # dimmed pixels moved would be dimmed again

        def step(on: pygame.Surface, _scene: Scene) -> list[pygame.Rect] | None:
            return renderer.step(on, now, in_place=in_place)

        areas = self._guard("base", self.frame.base, step, surface)
        if areas is None and len(self.faults) == faults:
            self.refresh(now)  # no frame of this surface held: drawn as `refresh` draws
            return
        if areas and surface is not self.output.canvas:  # the content above a banner
            offset = surface.get_abs_offset()
            areas = [area.move(offset) for area in areas]
        if areas:
            try:
                self._dim(areas)
                self.output.present(areas)
                self.frames += 1
            except Exception as exc:  # an output failure must not take the board down
                log.exception("presenting %s failed", self.frame.base.layout)
                self.on_error(f"presenting {self.frame.base.layout}: {exc}")
        self._stepped = now
        self._refresh_at = renderer.next_due()

    @property
    def refresh_at(self) -> datetime | None:
        return self._refresh_at

    def health(self, mono: float) -> DisplayHealth:
        """The heartbeat's `display`; `fps` is measured since the previous call."""
        frames_before, at_before = self._frames_counted
        elapsed = mono - at_before if at_before is not None else 0.0
        fps = (self.frames - frames_before) / elapsed if elapsed > 0 else 0.0
        self._frames_counted = (self.frames, mono)
        width, height = self.output.size
        return DisplayHealth(
            output=self.output.kind,
            width=width,
            height=height,
            fps=round(fps, 2),
            frames=self.frames,
            brightness=self.brightness,
            power="on" if self.power_on else "off",
            missing_glyphs=self.renderer.missing_glyphs,
            driver=self.output.driver if isinstance(self.output, ScreenOutput) else None,
        )

    def _guard(
        self,
        part: Part,
        scene: Scene,
        call: Callable[[pygame.Surface, Scene], T],
        surface: pygame.Surface,
    ) -> T | None:
        """`call(surface, scene)`, with whatever failed in it noted as a fault of `part`
        (the renderer counts the zones that failed; anything it let through is caught)."""
        errors = self.renderer.zone_errors
        try:
            result = call(surface, scene)
        except Exception as exc:  # a drawing bug must not take the board down
            log.exception("drawing %s failed", scene.layout)
            self.faults.append(DrawFault(part, scene.layout, f"{type(exc).__name__}: {exc}"))
            return None
        if self.renderer.zone_errors != errors:
            self.faults.append(DrawFault(part, scene.layout, self.renderer.last_error))
        return result

    def _draw(self, frame: Frame) -> None:
        canvas = self.output.canvas
        self._base_surface = canvas
        if frame.banner is not None:
            surface = self._guard("banner", frame.banner, self._above_banner, canvas)
            self._base_surface = canvas if surface is None else surface
        self._guard("base", frame.base, self.renderer.draw, self._base_surface)
        if frame.banner is not None:
            self._guard("banner", frame.banner, self.renderer.draw_overlay, canvas)
        try:
            self._dim([canvas.get_rect()])
            text = sign_text(frame)
            if text is not None and isinstance(self.output, TextSign):
                self.output.present_text(text)
            else:
                self.output.present()
        except Exception as exc:  # an output failure must not take the board down
            log.exception("presenting %s failed", frame.base.layout)
            self.on_error(f"presenting {frame.base.layout}: {exc}")
        self.frames += 1
        self.frame = frame
        self._stepped = None
        self._stale = False
        self._schedule(frame)

    def _above_banner(self, canvas: pygame.Surface, banner: Scene) -> pygame.Surface:
        """Where the content goes while a banner runs: above the band, so the band hides
        none of the notice (the content is laid out again for the smaller area). On small
        LED panels the banner takes the whole panel and the content stays beneath it."""
        canvas.fill(BACKGROUND)
        band = self.renderer.draw_overlay(canvas, banner)
        if band.height == 0 or band.top < canvas.get_height() // 2:
            return canvas
        return canvas.subsurface(pygame.Rect(0, 0, canvas.get_width(), band.top))

    def _schedule(self, frame: Frame) -> None:
        times = [self._guard("base", frame.base, self._next_change, self._base_surface)]
        self._banner_at = None
        if frame.banner is not None:
            self._banner_at = self._guard(
                "banner", frame.banner, self._next_change, self._base_surface
            )
            times.append(self._banner_at)
        self._refresh_at = min((t for t in times if t is not None), default=None)

    def _next_change(self, _surface: pygame.Surface, scene: Scene) -> datetime | None:
        return self.renderer.refresh_at(scene)

    def _dim(self, areas: list[pygame.Rect]) -> None:
        """Software dimming, for panels without a backlight the agent can set."""
        if self._dim_frame_to >= 100:
            return
        # Multiplied in place: no frame-sized shade allocated per ticker step (8 MB).
        level = round(255 * self._dim_frame_to / 100)
        for area in areas:
            self.output.canvas.fill((level, level, level), area, special_flags=pygame.BLEND_MULT)
