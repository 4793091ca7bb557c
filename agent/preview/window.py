"""The preview in a window, animated as on the board, reloaded when its files change."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from agent.preview.draft import BOARD_ZONE, Preview, PreviewError
from agent.preview.picture import view, view_size, with_problems

if TYPE_CHECKING:
    import pygame

    from display_layouts.render import Renderer, Scene

WINDOW_TICK_MS = 100  # a window with nothing moving still answers its window system


class Window:
    """The preview on screen, animated as on the board (tickers run, clocks tick)."""

    def __init__(self, preview: Preview) -> None:
        from agent.output import ScreenOutput

        self.preview = preview
        self._panel: pygame.Surface | None = None
        self.screen = ScreenOutput(view_size(preview), fullscreen=False)

    def show(self, renderer: Renderer, scene: Scene, problems: list[str]) -> None:
        """Draw `scene` (whole) and present it, with `problems` across the top if any."""
        import pygame

        self._panel = pygame.Surface(self.preview.size)
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
        if problems:
            picture = with_problems(picture, problems)
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
            live = dataclasses.replace(scene, now=datetime.now(BOARD_ZONE))
            self.step(renderer, live, problems)
            pygame.time.wait(_wait_ms(renderer, live))
        self.screen.close()
        return 0


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
