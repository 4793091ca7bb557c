"""A failure to draw never stops the board: the item is skipped (once, with one
display.error) until its content changes, other items go on showing, and an alert whose
layout fails is shown with the built-in one."""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path
from typing import Any

import pytest

from agent.core import Agent
from agent.output import HeadlessOutput
from display_layouts.paint import Paint
from display_layouts.zones.clock import ClockZone
from display_layouts.zones.qr import QrZone
from tests.support import playlist, text_item
from tests.test_core import (
    ALERT_TOPIC,
    FakeClock,
    alert_payload,
    events,
    make_config,
    now_showing,
    publish,
    shown,
)

QR_NOTICE = """\
name: qr_notice
purpose: A notice and a QR code.
zones:
  - {name: body, type: text, box: [0, 0, 70, 100], text: "{body}"}
  - {name: code, type: qr, box: [70, 0, 30, 100], data: "{link}"}
"""
QR_ALERT = """\
name: alert_full
purpose: The city's own full-screen alert, with a QR code to the warning page.
reserved: true
override: true
background: alert_red
zones:
  - {name: headline, type: text, box: [0, 0, 70, 50], text: "{headline}", font: bold}
  - {name: description, type: text, box: [0, 50, 70, 50], text: "{description}"}
  - {name: code, type: qr, box: [70, 0, 30, 100], data: "https://canhbao.hanoi.gov.vn"}
"""

# Every test here injects a drawing fault on purpose: the agent logs its traceback once.
pytestmark = pytest.mark.allow_traceback


def broken_paint(self: Any, paint: Paint, rect: Any) -> None:
    raise RuntimeError("injected renderer fault")


def board(tmp_path: Path, clock: FakeClock, **layouts: str) -> Agent:
    folder = tmp_path / "layouts"
    folder.mkdir(exist_ok=True)
    for name, text in layouts.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    display = {"output": "headless", "width": 320, "height": 180, "layouts_dir": str(folder)}
    agent = Agent(
        make_config(tmp_path, display=display), clock=clock, output=HeadlessOutput((320, 180))
    )
    agent.link = None  # in-process: events go to the log only
    return agent


def qr_item(body: str = "Quét mã") -> dict[str, Any]:
    return {"id": "qr", "layout": "qr_notice", "fields": {"body": body, "link": "https://x.vn"}}


def played(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [e["item_id"] for e in events(caplog, "playback.started")]


def test_a_fault_in_one_zone_type_skips_its_items_with_one_display_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    agent = board(tmp_path, clock, qr_notice=QR_NOTICE)
    monkeypatch.setattr(QrZone, "paint", broken_paint)
    agent.start()
    publish(agent, playlist(1, [qr_item(), text_item("a", "Thông báo A", duration_s=5)]))
    assert shown(agent) == "a"
    for _ in range(6):  # several turns of the rotation: the broken item stays out
        clock.advance(5)
        agent.tick()
        assert shown(agent) == "a"
    [error] = events(caplog, "display.error")
    assert "item qr (commune)" in error["message"]
    assert "qr_notice" in error["message"]
    assert "injected renderer fault" in error["message"]
    assert "qr" not in played(caplog)
    assert played(caplog)[0] == "a"
    # Its content changes (and the zone type works again): it is tried, and shown.
    monkeypatch.undo()
    publish(agent, playlist(2, [qr_item("Quét mã mới"), text_item("a", "Thông báo A")]))
    clock.advance(10)
    agent.tick()
    assert "qr" in played(caplog)
    assert len(events(caplog, "display.error")) == 1
    agent._shutdown()


def test_a_fault_while_animating_is_caught_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A clock that fails only when asked for its next change (the renderer's schedule):
    the headline item (which has a clock) is skipped; idle (a clock too) draws what it can."""
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    agent = board(tmp_path, clock)
    monkeypatch.setattr(ClockZone, "next_change", broken_paint)
    agent.start()
    headline = {"id": "h", "layout": "headline", "fields": {"title": "T", "body": "B"}}
    publish(agent, playlist(1, [headline, text_item("a", "A", duration_s=5)]))
    assert shown(agent) == "a"
    publish(agent, playlist(2, [headline]))  # only the broken item: idle (with its clock)
    for _ in range(5):
        clock.advance(61)
        agent.tick()
    assert shown(agent) is None
    assert agent.screen.frames >= 2
    messages = [e["message"] for e in events(caplog, "display.error")]
    assert len(messages) == 2, messages  # the item once, idle once: not one per frame
    assert any(message.startswith("idle: ") for message in messages)
    assert any(message.startswith("item h (commune) cannot be drawn") for message in messages)
    agent._shutdown()


def test_a_nan_that_reaches_the_renderer_does_not_stop_the_board(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The loader refuses NaN; should one get past it (a bug), the board still runs."""
    caplog.set_level(logging.INFO)
    agent = board(tmp_path, FakeClock())
    layout = agent.library.get("fullscreen_text")
    assert layout is not None
    zones = tuple(
        zone.model_copy(update={"box": (math.nan, 0.0, 100.0, 100.0)}) for zone in layout.base.zones
    )
    base = dataclasses.replace(layout.base, zones=zones)
    poisoned = dataclasses.replace(layout, name="poisoned", base=base, variants=(), _by_canvas={})
    agent.library = agent.renderer.library = agent.library.with_layout(poisoned)
    agent.start()
    item = {"id": "nan", "layout": "poisoned", "fields": {"text": "NaN"}}
    publish(agent, playlist(1, [item, text_item("a", "A")]))
    assert shown(agent) == "a"
    [error] = events(caplog, "display.error")
    assert "item nan" in error["message"]
    assert "poisoned" in error["message"]
    assert "nan" not in played(caplog)
    agent._shutdown()


def test_an_alert_whose_layout_fails_is_shown_with_the_built_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    agent = board(tmp_path, FakeClock(), alert_full=QR_ALERT)
    assert agent.library.get("alert_full").source.endswith("alert_full.yaml")  # type: ignore[union-attr]
    monkeypatch.setattr(QrZone, "paint", broken_paint)
    agent.start()
    publish(agent, playlist(1, [text_item("a", "A")]))
    publish(agent, alert_payload(), topic=ALERT_TOPIC)
    assert now_showing(agent) == ("bao-so-3", "alert")
    frame = agent.screen.frame
    assert frame is not None
    assert frame.base.layout == "alert_full"
    assert frame.base.builtin
    [error] = events(caplog, "display.error")
    assert "alert bao-so-3" in error["message"]
    assert "built-in alert_full" in error["message"]
    assert "bao-so-3" in played(caplog)
    # The built-in alert layout's red, not the navy of a failed frame.
    assert tuple(agent.output.canvas.get_at((5, 5)))[:3] != (0, 0, 0)
    agent._shutdown()


QR_BANNER = """\
name: alert_banner
purpose: The city's own banner, with a QR code.
reserved: true
override: true
background: transparent
zones:
  - {name: band, type: rect, box: [0, 70, 100, 30], color: alert_yellow}
  - {name: headline, type: text, box: [0, 70, 80, 30], text: "{headline}", color: ink}
  - {name: code, type: qr, box: [80, 70, 20, 30], data: "https://canhbao.hanoi.gov.vn"}
"""


def test_a_banner_whose_layout_fails_is_shown_with_the_built_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    agent = board(tmp_path, clock, alert_banner=QR_BANNER)
    monkeypatch.setattr(QrZone, "paint", broken_paint)
    agent.start()
    publish(agent, playlist(1, [text_item("a", "A", duration_s=5), text_item("b", "B")]))
    publish(agent, alert_payload(severity="minor"), topic=ALERT_TOPIC)
    frame = agent.screen.frame
    assert frame is not None
    assert frame.banner is not None
    assert frame.banner.builtin
    assert frame.base.layout == "fullscreen_text"  # the content goes on under the band
    for _ in range(4):
        clock.advance(5)
        agent.tick()
    [error] = events(caplog, "display.error")
    assert "alert bao-so-3" in error["message"]
    assert "built-in alert_banner" in error["message"]
    assert {"a", "b", "bao-so-3"} <= set(played(caplog))
    agent._shutdown()


def test_a_zone_that_starts_failing_while_it_runs_skips_the_item_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The ticker draws when the item comes on screen, then fails at a later frame of its
    animation: the item is taken off at once, and reported once."""
    from display_layouts.zones.ticker import TickerZone

    caplog.set_level(logging.INFO)
    clock = FakeClock()
    agent = board(tmp_path, clock)
    agent.start()
    news = {
        "id": "tin",
        "layout": "headline",
        "fields": {"title": "Tin", "body": "Nội dung", "ticker": "Chữ chạy " * 10},
    }
    publish(agent, playlist(1, [news, text_item("a", "A", duration_s=30)]))
    assert shown(agent) == "tin"
    assert agent.screen.refresh_at is not None
    monkeypatch.setattr(TickerZone, "paint", broken_paint)
    for _ in range(30):  # a second of animation frames
        clock.advance(1 / 30)
        agent.tick()
    assert shown(agent) == "a"
    [error] = events(caplog, "display.error")
    assert error["message"].startswith("item tin (commune) cannot be drawn with layout headline")
    assert "zone 'ticker' (ticker)" in error["message"]
    assert played(caplog) == ["tin", "a"]
    agent._shutdown()
