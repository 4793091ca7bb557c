"""Issue 18: a moving zone's frame costs a few blits of kept images, nothing more.

Counted, not timed: FreeType renders each piece of a ticker's text once, not per frame;
a frame repaints only the band that moves, and its pixels are those a full draw at the
same instant gives."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no window, ever

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pygame
import pygame.freetype
import pytest

from agent.core import Agent
from agent.link_messages import Received
from agent.output import HeadlessOutput
from display_layouts import samples, scroll
from display_layouts.fonts import Face, face
from display_layouts.render import Renderer, Scene
from tests.support import COMMUNE_TOPIC, playlist
from tests.test_core import ALERT_TOPIC, FakeClock, alert_payload, make_config

SIZE = (1920, 1080)
TICKER = "Cảnh báo ngập lụt • Mất điện khu phố 3 • Nước sinh hoạt cấp lại từ 17 giờ"


def headline(at: float) -> Scene:
    fields = {"title": "Lịch tiêm chủng", "body": "Trạm y tế phường", "ticker": TICKER}
    now = samples.NOW + timedelta(seconds=at)
    return Scene("headline", fields, "B", now, started=samples.NOW)


def test_the_ticker_text_is_rendered_once_not_per_frame() -> None:
    renderer = Renderer(SIZE, fps=30)
    surface = pygame.Surface(SIZE)
    renderer.draw(surface, headline(0))
    for frame in range(1, 4):  # the first frames may bring chunks into view
        renderer.animate(surface, headline(frame / 30))
    before = scroll.Strip.renders
    for frame in range(4, 64):
        assert renderer.animate(surface, headline(frame / 30))
    assert scroll.Strip.renders == before


def test_a_kept_chunk_blends_to_the_pixels_freetype_gives() -> None:
    """The chunk converted to the target's layout (SDL's fast blend) draws what the
    RGBA image FreeType renders draws through SDL's generic blend."""
    pygame.freetype.init()
    font = face(Face.BOLD).font
    font.antialiased = True
    image, _ = font.render("Cảnh báo ngập lụt ", (20, 30, 40), size=48)
    for target in (pygame.Surface((600, 80)), pygame.Surface((600, 80), pygame.SRCALPHA)):
        target.fill((200, 150, 30, 255))
        generic, fast = target.copy(), target.copy()
        generic.blit(image, (3, 5))
        fast.blit(image.convert(scroll._template(scroll.blend_layout(target))), (3, 5))
        assert pygame.image.tobytes(generic, "RGBA") == pygame.image.tobytes(fast, "RGBA")


# --- the agent's loop: a ticker frame is a ticker frame, nothing more ---------------------


class RecordingOutput(HeadlessOutput):
    """A headless output that notes what each `present` was given."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__(size)
        self.presented: list[list[pygame.Rect] | None] = []

    def present(self, areas: list[pygame.Rect] | None = None) -> None:
        self.presented.append(None if areas is None else [pygame.Rect(a) for a in areas])
        super().present(areas)


class Counted:
    """A method of a real part, wrapped to count its calls (it still runs)."""

    def __init__(self, owner: object, name: str) -> None:
        self.calls = 0
        self._real = getattr(owner, name)
        setattr(owner, name, self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self._real(*args, **kwargs)


HEADLINE = {
    "id": "h",
    "layout": "headline",
    "fields": {"title": "Tin", "body": "Nội dung", "ticker": TICKER},
    "duration_s": 3600,
}


@pytest.fixture
def board(tmp_path: Path) -> Iterator[tuple[Agent, FakeClock, RecordingOutput]]:
    clock, output = FakeClock(), RecordingOutput(SIZE)
    display = {"output": "headless", "width": SIZE[0], "height": SIZE[1]}
    made = Agent(make_config(tmp_path, display=display), clock=clock, output=output)
    made.link = None
    yield made, clock, output
    made.fetcher.stop()
    made.seq.close()


def run_loop(agent: Agent, clock: FakeClock, frames: int) -> None:
    for _ in range(frames):
        clock.advance(1 / 30)
        agent.step()


def test_a_ticker_frame_walks_no_playlist_and_hands_over_only_the_band(
    board: tuple[Agent, FakeClock, RecordingOutput],
) -> None:
    agent, clock, output = board
    agent.handle(Received(COMMUNE_TOPIC, playlist(1, [HEADLINE]), retained=False))
    agent.step()  # something arrived: a full turn puts the item on air
    eligible = Counted(agent.playback, "eligible")
    wakeup = Counted(agent.playback, "next_wakeup")
    frame = Counted(agent.presenter, "frame")
    output.presented.clear()
    frames = agent.screen.frames
    run_loop(agent, clock, 60)
    agent._seconds_until_next_deadline()  # the loop's sleep: from the deadlines kept
    assert (eligible.calls, wakeup.calls, frame.calls) == (0, 0, 0)
    assert agent.screen.frames == frames + 60
    band = agent.renderer._frame.moving[-1].rect if agent.renderer._frame else None
    assert band is not None
    assert band.width == SIZE[0]
    assert band.height < SIZE[1] // 10
    assert output.presented == [[band]] * 60
    # A message may change what is on air: the next turn is a full one.
    agent.handle(Received(COMMUNE_TOPIC, playlist(2, [HEADLINE]), retained=False))
    run_loop(agent, clock, 1)
    assert eligible.calls == 1


def test_the_frames_stepped_look_like_a_full_draw_at_the_same_time(
    board: tuple[Agent, FakeClock, RecordingOutput],
) -> None:
    agent, clock, output = board
    agent.handle(Received(COMMUNE_TOPIC, playlist(1, [HEADLINE]), retained=False))
    agent.step()
    run_loop(agent, clock, 47)
    showing = agent.playback.showing
    assert showing is not None
    fields = HEADLINE["fields"]
    assert isinstance(fields, dict)
    now = agent.events.now()
    expected = pygame.Surface(SIZE)
    Renderer(SIZE).draw(expected, Scene("headline", fields, "Phúc Xá", now, showing.since))
    got = pygame.image.tobytes(output.canvas, "RGB")
    assert got == pygame.image.tobytes(expected, "RGB")


@pytest.mark.parametrize("turn", ["tick", "step"])
def test_the_loop_step_keeps_every_deadline_a_tick_keeps(
    board: tuple[Agent, FakeClock, RecordingOutput], turn: str
) -> None:
    """Slot ends, validity edges and a set wall clock are seen by `step` as by `tick`."""
    agent, clock, _ = board
    until = (clock.wall + timedelta(seconds=2)).isoformat()
    soon_over = {**HEADLINE, "id": "a", "valid_until": until}
    other = {**HEADLINE, "id": "b", "fields": {"title": "B", "body": "Khác", "ticker": "Khác"}}
    agent.handle(Received(COMMUNE_TOPIC, playlist(1, [soon_over, other]), retained=False))
    agent.tick()
    seen = []
    for _ in range(120):  # 4 s: `a` leaves when its validity ends, mid-slot
        clock.advance(1 / 30)
        getattr(agent, turn)()
        seen.append(shown(agent))
    assert seen[:59] == ["a"] * 59
    assert set(seen[60:]) == {"b"}
    eligible = Counted(agent.playback, "eligible")
    clock.wall -= timedelta(hours=1)  # the wall clock set back: `a` is valid again
    clock.advance(1 / 30)
    getattr(agent, turn)()
    assert eligible.calls == 1


def shown(agent: Agent) -> str | None:
    showing = agent.playback.showing
    return showing.entry.item.id if showing and showing.entry else None


def test_a_stepped_ticker_moves_its_pixels_and_paints_only_what_came_into_view() -> None:
    """Across the repeat of the line too (a short text: its period is under the band's
    width), every frame equals a full draw at its time, and each restores beneath only
    the few columns that came into view (120 px/s at 30 fps: 4 a frame)."""
    renderer = Renderer(SIZE, fps=30)
    surface = pygame.Surface(SIZE)
    short = Scene(
        "headline", {"title": "T", "body": "B", "ticker": "Bão số 3"}, "B", samples.NOW, samples.NOW
    )
    renderer.draw(surface, short)
    widths: list[int] = []
    real = renderer._paint_beneath

    def restoring(frame: Any, paint: Any, rect: pygame.Rect) -> None:
        widths.append(rect.width)
        real(frame, paint, rect)

    renderer._paint_beneath = restoring  # type: ignore[method-assign]
    for frame in range(1, 200):  # 6.6 s: the 220-px line and its gap pass many times
        now = samples.NOW + timedelta(seconds=frame / 30)
        renderer.step(surface, now)
        if frame % 40 == 0:
            expected = pygame.Surface(SIZE)
            Renderer(SIZE, fps=30).draw(expected, replace(short, now=now))
            assert pygame.image.tobytes(surface, "RGB") == pygame.image.tobytes(expected, "RGB")
    assert len(widths) == 199  # one restore a frame, of a few columns only
    assert max(widths) <= 5


def test_scrolling_text_on_an_led_panel_steps_to_the_pixels_of_a_full_draw() -> None:
    """headline on a 128×32 panel: title and body run sideways (`overflow: scroll`)."""
    size = (128, 32)
    fields = {"title": "Lịch tiêm chủng tuần này", "body": "Trạm y tế phường tiêm vắc-xin"}
    shown = Scene("headline", fields, "B", samples.NOW, samples.NOW)
    renderer = Renderer(size, fps=30)
    surface = pygame.Surface(size)
    renderer.draw(surface, shown)
    assert renderer.refresh_at(shown) is not None  # it moves
    for frame in range(1, 120):
        now = samples.NOW + timedelta(seconds=frame / 30)
        assert renderer.step(surface, now) is not None
        expected = pygame.Surface(size)
        Renderer(size, fps=30).draw(expected, replace(shown, now=now))
        assert pygame.image.tobytes(surface, "RGB") == pygame.image.tobytes(expected, "RGB")


def test_under_a_still_banner_only_the_ticker_band_is_stepped(
    board: tuple[Agent, FakeClock, RecordingOutput],
) -> None:
    """A moderate alert's banner below the content (an LCD): the ticker above it runs on
    by `step`, the banner is left as drawn, and the pixels are those a full draw gives."""
    agent, clock, output = board
    agent.handle(Received(COMMUNE_TOPIC, playlist(1, [HEADLINE]), retained=False))
    agent.handle(Received(ALERT_TOPIC, alert_payload(severity="moderate"), retained=False))
    agent.step()
    assert agent.screen.frame is not None
    assert agent.screen.frame.banner is not None
    overlay = Counted(agent.renderer, "draw_overlay")
    output.presented.clear()
    run_loop(agent, clock, 45)
    assert overlay.calls == 0
    assert len(output.presented) == 45
    assert all(areas is not None and len(areas) == 1 for areas in output.presented)
    stepped = pygame.image.tobytes(output.canvas, "RGB")
    agent.screen.frame = None  # drawn whole at the same instant
    agent.tick()
    assert pygame.image.tobytes(output.canvas, "RGB") == stepped
