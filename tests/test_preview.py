"""`signage-agent preview`: PNG output, layout files, the LED dot view, --watch, windows."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no window, ever

import argparse
import dataclasses
import json
import queue
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pygame
import pytest

from agent.preview import preview, watch
from agent.preview.draft import Preview
from agent.preview.window import Window
from display_layouts import theme
from display_layouts.led import pitch_for
from tests.no_posix import with_and_without_posix

LAYOUT = """\
name: notice_qr
purpose: A notice with a QR code.
background: {background}
zones:
  - {{name: body, type: text, box: [0, 0, 70, 100], text: "{{body}}"}}
  - {{name: code, type: qr, box: [70, 0, 30, 100], data: "{{link}}", optional: true}}
"""
TIMEOUT_S = 10


# Tests taking `system` run twice: here, and as on Windows (no POSIX-only calls, no
# system time-zone database: tests/no_posix.py).
system = with_and_without_posix()


def args(layout: str | None, **options: object) -> argparse.Namespace:
    defaults: dict[str, object] = {
        "content": None,
        "size": "640x360",
        "out": None,
        "watch": False,
        "led": False,
        "at": None,
    }
    return argparse.Namespace(layout=layout, **(defaults | options))


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def content(tmp_path: Path) -> Path:
    return write_json(tmp_path / "content.json", {"body": "Mất điện", "link": "https://x.vn"})


@pytest.fixture
def layout_file(tmp_path: Path) -> Path:
    path = tmp_path / "notice_qr.yaml"
    path.write_text(LAYOUT.format(background="navy"), encoding="utf-8")
    return path


def test_preview_draws_a_layout_file(
    system: None, tmp_path: Path, layout_file: Path, content: Path
) -> None:
    out = tmp_path / "out.png"
    assert preview(args(str(layout_file), content=content, out=out)) == 0
    picture = pygame.image.load(str(out))
    assert picture.get_size() == (640, 360)
    white = pygame.mask.from_threshold(picture, (255, 255, 255), (1, 1, 1, 255)).count()
    assert white > 10_000  # the QR code's light square


def test_preview_of_an_alert_layout(system: None, tmp_path: Path) -> None:
    alert = write_json(tmp_path / "a.json", {"headline": "Bão số 3", "description": "Ở nhà."})
    out = tmp_path / "out.png"
    assert preview(args("alert_full", content=alert, out=out)) == 0
    assert pygame.image.load(str(out)).get_at((320, 300))[:3] == theme.ALERT_BACKGROUND


def test_preview_led_shows_dots_at_the_panels_resolution(system: None, tmp_path: Path) -> None:
    out = tmp_path / "led.png"
    led = write_json(tmp_path / "led.json", {"text": "Bão số 3"})
    assert preview(args("led_text", content=led, out=out, size="128x32", led=True)) == 0
    picture = pygame.image.load(str(out))
    pitch = pitch_for((128, 32))
    assert picture.get_size() == (128 * pitch, 32 * pitch)
    assert picture.get_at((0, 0))[:3] == (0, 0, 0)  # the dark gap between two LEDs
    centre = picture.get_at((pitch // 2, pitch // 2))[:3]
    assert centre != (0, 0, 0)  # the LED itself


def test_preview_problems_are_reported(
    system: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], layout_file: Path
) -> None:
    out = tmp_path / "out.png"
    assert preview(args("headlin", out=out)) == 1
    assert "unknown layout 'headlin'; did you mean 'headline'?" in capsys.readouterr().err
    layout_file.write_text(LAYOUT.format(background="navi"), encoding="utf-8")
    assert preview(args(str(layout_file), out=out)) == 1
    assert "background: unknown colour 'navi'" in capsys.readouterr().err
    assert preview(args("headline", size="12", out=out)) == 2
    assert not out.exists()


# --- --watch ------------------------------------------------------------------------------


class Watched:
    """`preview --watch --out` running in a thread; each picture written comes back."""

    def __init__(self, session: Preview, out: Path) -> None:
        self.pictures: queue.Queue[tuple[pygame.Surface, list[str]]] = queue.Queue()
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=watch, args=(session, out, self.stop, self._rendered), daemon=True
        )

    def _rendered(self, picture: pygame.Surface, problems: list[str]) -> None:
        self.pictures.put((picture.copy(), problems))

    def next(self) -> tuple[pygame.Surface, list[str]]:
        return self.pictures.get(timeout=TIMEOUT_S)


@pytest.fixture
def watched(system: None, tmp_path: Path, layout_file: Path, content: Path) -> Iterator[Watched]:
    runner = Watched(Preview(str(layout_file), content, (320, 180)), tmp_path / "out.png")
    runner.thread.start()
    yield runner
    runner.stop.set()
    runner.thread.join(TIMEOUT_S)
    assert not runner.thread.is_alive()


def test_watch_redraws_when_the_content_is_saved(watched: Watched, content: Path) -> None:
    first, problems = watched.next()
    assert problems == []
    write_json(content, {"body": "Nước sinh hoạt", "link": "https://x.vn"})
    second, problems = watched.next()
    assert problems == []
    assert pygame.image.tobytes(first, "RGB") != pygame.image.tobytes(second, "RGB")


def test_watch_redraws_when_the_layout_is_saved(watched: Watched, layout_file: Path) -> None:
    watched.next()
    replacement = layout_file.with_suffix(".tmp")
    replacement.write_text(LAYOUT.format(background="alert_red"), encoding="utf-8")
    replacement.replace(layout_file)  # as editors save: a new file renamed over the old
    picture, problems = watched.next()
    assert problems == []
    assert picture.get_at((5, 175))[:3] == theme.ALERT_BACKGROUND


def test_watch_keeps_the_last_good_frame_and_shows_the_problem(
    watched: Watched, content: Path
) -> None:
    good, _ = watched.next()
    content.write_text('{"body": ', encoding="utf-8")
    shown, problems = watched.next()
    assert len(problems) == 1
    assert problems[0].startswith(f"{content}: ")
    assert shown.get_at((2, 2))[:3] == (170, 18, 26)  # the problem band across the top
    bottom = pygame.Rect(0, 150, 320, 30)
    assert pygame.image.tobytes(shown.subsurface(bottom), "RGB") == pygame.image.tobytes(
        good.subsurface(bottom), "RGB"
    )
    write_json(content, {"body": "Đã sửa"})
    fixed, problems = watched.next()
    assert problems == []
    assert fixed.get_at((2, 2))[:3] == theme.BACKGROUND


# --- the window -------------------------------------------------------------------------


def test_window_shows_the_frame_until_closed(content: Path, layout_file: Path) -> None:
    session = Preview(str(layout_file), content, (320, 180))
    window = Window(session)
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    assert window.run(session.load, threading.Event()) == 0


def test_window_animates_a_ticker(system: None, tmp_path: Path) -> None:
    news = write_json(
        tmp_path / "news.json",
        {"title": "Tin", "body": "Nội dung", "ticker": "Cảnh báo ngập lụt • Mất điện"},
    )
    session = Preview("headline", news, (320, 180))
    renderer, scene = session.load()
    window = Window(session)
    try:
        window.show(renderer, scene, [])
        before = pygame.image.tobytes(window.screen.canvas, "RGB")
        window.step(renderer, dataclasses.replace(scene, now=scene.now + timedelta(seconds=1)), [])
        assert pygame.image.tobytes(window.screen.canvas, "RGB") != before
    finally:
        window.screen.close()
