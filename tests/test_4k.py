"""A 3840×2160 board: headline with its running ticker, a severe alert, a picture item.

In-process with an injected clock (as tests/test_core.py): what is checked is the
frame the core hands to its output, pixel by pixel where the layout fixes the colour.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pygame
import pytest

from agent.core import Agent
from agent.output import HeadlessOutput
from display_layouts import samples, theme
from tests.http_server import image_server
from tests.support import playlist
from tests.test_assets import png
from tests.test_core import (
    ALERT_TOPIC,
    FakeClock,
    alert_payload,
    make_config,
    now_showing,
    publish,
    shown,
)

W, H = 3840, 2160
BAND_TOP = round(0.91 * H)  # headline.yaml: the ticker band is [0, 91, 100, 9]


@pytest.fixture
def board(tmp_path: Path) -> Iterator[tuple[Agent, FakeClock]]:
    clock = FakeClock()
    config = make_config(tmp_path, display={"output": "headless", "width": W, "height": H})
    made = Agent(config, clock=clock, output=HeadlessOutput((W, H)))
    made.link = None  # in-process: events go to the log only
    yield made, clock
    made.fetcher.stop()
    made.seq.close()


def count(surface: pygame.Surface, color: theme.Color) -> int:
    """Pixels of exactly `color`."""
    return int(pygame.mask.from_threshold(surface, color, (1, 1, 1, 255)).count())


def row(surface: pygame.Surface, y: int) -> list[bool]:
    """Which pixels of row `y` are not the ticker band's amber: the text's strokes."""
    line = pygame.image.tobytes(surface.subsurface((0, y, W, 1)), "RGB")
    amber = bytes(theme.ACCENT)
    return [line[3 * x : 3 * x + 3] != amber for x in range(W)]


def headline_item() -> dict[str, object]:
    return {"id": "tin", "layout": "headline", "fields": samples.text_notice("headline")}


def test_headline_with_its_ticker_at_4k(board: tuple[Agent, FakeClock]) -> None:
    agent, clock = board
    publish(agent, playlist(1, [headline_item()]))
    assert shown(agent) == "tin"
    canvas = agent.output.canvas
    assert canvas.get_size() == (W, H)
    # Where the layout fixes the colour: body margin, header, amber rule, band, picture.
    assert tuple(canvas.get_at((20, H // 2)))[:3] == theme.BACKGROUND
    assert tuple(canvas.get_at((round(0.7 * W), 10)))[:3] == theme.PANEL
    assert tuple(canvas.get_at((100, round(0.164 * H))))[:3] == theme.ACCENT
    assert tuple(canvas.get_at((5, BAND_TOP + 20)))[:3] == theme.ACCENT
    sky = (110, 170, 220)  # the sample photo's sky, at the centre of the picture zone
    assert tuple(canvas.get_at((round(0.81 * W), round(0.539 * H))))[:3] == sky
    # The body and the title are drawn: white text on the navy and the panel.
    assert count(canvas, theme.TEXT) > 20_000
    band = canvas.subsurface((0, BAND_TOP, W, H - BAND_TOP))
    assert count(band, theme.ON_ACCENT) > 5_000  # the ticker's dark text in the band
    middle = BAND_TOP + (H - BAND_TOP) // 2
    before = [row(canvas, middle + dy) for dy in (-20, 0, 20)]
    body_before = pygame.image.tobytes(canvas.subsurface((0, 400, W, 1400)), "RGB")
    frames = agent.screen.frames
    for _ in range(30):  # one second at 30 fps
        clock.advance(1 / 30)
        agent.tick()
    assert agent.screen.frames >= frames + 29  # a frame per step, none skipped
    after = [row(canvas, middle + dy) for dy in (-20, 0, 20)]
    # The text moved left by the ticker's speed (120 px/s) and nothing else changed.
    for old, new in zip(before, after, strict=True):
        assert any(old)
        assert new != old
        assert new[200:3000] == old[320:3120]
    assert pygame.image.tobytes(canvas.subsurface((0, 400, W, 1400)), "RGB") == body_before


def test_severe_alert_fills_a_4k_screen(board: tuple[Agent, FakeClock]) -> None:
    agent, _ = board
    publish(agent, playlist(1, [headline_item() | {"duration_s": 600}]))
    publish(agent, alert_payload(), topic=ALERT_TOPIC)
    assert now_showing(agent) == ("bao-so-3", "alert")
    canvas = agent.output.canvas
    # alert_full: red screen; its texts in white, large enough to read at 4K.
    assert count(canvas, theme.ALERT_BACKGROUND) > W * H // 4
    assert count(canvas, theme.TEXT) + count(canvas, (255, 255, 255)) > 50_000
    assert count(canvas, theme.BACKGROUND) < W * H // 100  # no headline left behind
    assert tuple(canvas.get_at((W - 5, H // 2)))[:3] == theme.ALERT_BACKGROUND
    # The label band across the top: warning yellow (or white, on a beat of its pulse).
    assert tuple(canvas.get_at((5, 5)))[:3] in {theme.ALERT_STRIPE, (255, 255, 255)}


def test_picture_item_at_4k(board: tuple[Agent, FakeClock]) -> None:
    agent, _ = board
    with image_server() as server:
        data = png((200, 30, 30), (160, 90))
        server.files["/anh.png"] = data
        image = {"url": server.url("/anh.png"), "sha256": hashlib.sha256(data).hexdigest()}
        publish(
            agent,
            playlist(1, [{"id": "anh", "layout": "image_caption", "fields": {"image": image}}]),
        )
        agent.handle(agent.queue.get(timeout=10))  # AssetReady
        agent.tick()
    assert shown(agent) == "anh"
    canvas = agent.output.canvas
    # A 16:9 picture scaled up to fill the picture zone ([0, 0, 100, 85]), centred.
    assert tuple(canvas.get_at((W // 2, round(0.85 * H / 2))))[:3] == (200, 30, 30)
    assert count(canvas, (200, 30, 30)) > 0.6 * W * 0.85 * H
