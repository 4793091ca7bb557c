"""The preview in a window, animated as on the board, reloaded when its files change."""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from agent.preview.draft import Preview, PreviewError, board_zone
from agent.preview.picture import fitted_size, view, view_size, with_problems

if TYPE_CHECKING:
    import pygame

    from display_layouts.render import Renderer, Scene

WINDOW_TICK_MS = 100  # a window with nothing moving still answers its window system


class Window:
    """The preview on screen, animated as on the board (tickers run, clocks tick)."""

    def __init__(self, preview: Preview, at: float | None = None) -> None:
        """`at`: show the still that many seconds after the start, not the animation."""
        import pygame

        from agent.output import ScreenOutput

        self.preview = preview
        self.at = at
        self._panel: pygame.Surface | None = None
        self._clip_problems: list[str] = []
        full = view_size(preview)
        pygame.display.init()
        self.shown = fitted_size(full, _desktop(full))
        if self.shown != full:
            print(_scaled_note(full, self.shown), file=sys.stderr)
        self.screen = ScreenOutput(self.shown, fullscreen=False)
        pygame.mouse.set_visible(True)  # a board hides it; an author's window needs it

    def show(self, renderer: Renderer, scene: Scene, problems: list[str]) -> None:
        """Draw `scene` (whole) and present it, with `problems` across the top if any."""
        import pygame

        self._panel = pygame.Surface(self.preview.size)
        self._clip_problems = []
        renderer.draw(self._panel, scene)
        self._present(problems)

    def step(self, renderer: Renderer, scene: Scene, problems: list[str]) -> None:
        """Advance the animated zones to now."""
        if self._panel is not None and renderer.animate(self._panel, scene):
            self._present(problems)

    def _present(self, problems: list[str]) -> None:
        if self._panel is None:
            return
        picture = view(self._panel, self.preview)
        # A clip found damaged while playing: said across the top until the next reload.
        self._clip_problems += self.preview.clips.take_failures()
        problems = problems + self._clip_problems
        if problems:
            picture = with_problems(picture, problems)
        if picture.get_size() != self.shown:
            picture = _scaled(picture, self.shown)
        self.screen.canvas.blit(picture, (0, 0))
        self.screen.present()

    def run(self, load: Callable[[], tuple[Renderer, Scene]], reload: threading.Event) -> int:
        """Show until the window is closed; reload when `reload` is set."""
        import pygame

        renderer, scene = load()
        problems: list[str] = []
        self.show(renderer, scene, problems)
        while self.screen.pump():
            if reload.is_set():
                reload.clear()
                renderer, scene, problems = _reloaded(load, renderer, scene)
                self.show(renderer, scene, problems)
            if self.at is not None:  # a still: nothing moves
                pygame.time.wait(WINDOW_TICK_MS)
                continue
            live = dataclasses.replace(scene, now=datetime.now(board_zone()))
            self.step(renderer, live, problems)
            pygame.time.wait(_wait_ms(renderer, live))
        self.screen.close()
        return 0


def _desktop(fallback: tuple[int, int]) -> tuple[int, int]:
    """The size of the screen the window opens on (the first one)."""
    import pygame

    sizes = pygame.display.get_desktop_sizes()
    return sizes[0] if sizes else fallback


def _scaled_note(full: tuple[int, int], shown: tuple[int, int]) -> str:
    percent = round(100 * shown[0] / full[0])
    return (
        f"preview: the {full[0]}x{full[1]} view is shown at {percent}% "
        f"({shown[0]}x{shown[1]}) to fit the screen; --out writes it full size"
    )


def _scaled(picture: pygame.Surface, size: tuple[int, int]) -> pygame.Surface:
    import pygame

    try:
        return pygame.transform.smoothscale(picture, size)
    except ValueError:  # smoothscale takes 24- and 32-bit surfaces only
        return pygame.transform.scale(picture, size)


def _wait_ms(renderer: Renderer, scene: Scene) -> int:
    refresh = renderer.refresh_at(scene)
    if refresh is None:
        return WINDOW_TICK_MS
    milliseconds = (refresh - scene.now).total_seconds() * 1000
    return max(1, min(WINDOW_TICK_MS, round(milliseconds)))


def _reloaded(
    load: Callable[[], tuple[Renderer, Scene]], renderer: Renderer, scene: Scene
) -> tuple[Renderer, Scene, list[str]]:
    """The freshly loaded files, or the last good ones with the problems to show."""
    try:
        fresh_renderer, fresh_scene = load()
    except PreviewError as exc:
        return renderer, scene, exc.problems
    return fresh_renderer, fresh_scene, []
