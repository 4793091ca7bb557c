"""Cached content is checked again against the layouts in use: at start-up and after every
layout change. An item that no longer fits (its layout gone, a slot missing) is not shown
and not reported as played; one content.warning per channel names each item and why."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from agent.core import Agent
from agent.output import HeadlessOutput
from tests.support import playlist, text_item
from tests.test_core import FakeClock, events, make_config, publish, shown

NOTICE = """\
name: notice
purpose: A notice with a title.
zones:
  - {name: title, type: text, box: [0, 0, 100, 20], text: "{title}"}
  - {name: body, type: text, box: [0, 20, 100, 80], text: "{body}"}
"""
# The same layout, changed: it now needs a `source` line too.
NOTICE_WITH_SOURCE = (
    NOTICE + '  - {name: source, type: text, box: [0, 90, 100, 10], text: "{source}"}\n'
)
NOTICE_WITH_SOURCE = NOTICE_WITH_SOURCE.replace("[0, 20, 100, 80]", "[0, 20, 100, 70]")


def board(tmp_path: Path, clock: FakeClock) -> Agent:
    folder = tmp_path / "layouts"
    display = {"output": "headless", "width": 320, "height": 180, "layouts_dir": str(folder)}
    config = make_config(tmp_path, display=display)
    agent = Agent(config, clock=clock, output=HeadlessOutput((320, 180)))
    agent.link = None  # in-process: events go to the log only
    return agent


def notice_item() -> dict[str, Any]:
    return {"id": "tb", "layout": "notice", "fields": {"title": "Thông báo", "body": "Họp tổ"}}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "layouts"
    path.mkdir()
    (path / "notice.yaml").write_text(NOTICE, encoding="utf-8")
    return path


def played(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [e["item_id"] for e in events(caplog, "playback.started")]


def cache_content(tmp_path: Path, clock: FakeClock) -> None:
    first = board(tmp_path, clock)
    first.start()
    publish(first, playlist(3, [notice_item(), text_item("a", "A", duration_s=5)]))
    first._shutdown()


def test_a_cached_item_whose_layout_is_gone_is_skipped_at_start(
    tmp_path: Path, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    cache_content(tmp_path, clock)
    (folder / "notice.yaml").unlink()
    caplog.clear()
    caplog.set_level(logging.INFO)
    again = board(tmp_path, clock)
    again.start()
    for _ in range(4):
        assert shown(again) == "a"
        clock.advance(5)
        again.tick()
    [warning] = events(caplog, "content.warning")
    assert warning["channel"] == "commune"
    [detail] = warning["warnings"]
    assert detail["path"] == "items.0.layout"
    assert "item tb is not shown" in detail["message"]
    assert "unknown layout 'notice'" in detail["message"]
    assert "tb" not in played(caplog)
    assert "a" in played(caplog)
    again._shutdown()


def test_a_layout_change_that_needs_a_new_slot_skips_the_cached_item(
    tmp_path: Path, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    agent = board(tmp_path, clock)
    agent.start()
    publish(agent, playlist(3, [notice_item(), text_item("a", "A", duration_s=5)]))
    assert shown(agent) == "tb"
    caplog.clear()
    caplog.set_level(logging.INFO)
    (folder / "notice.yaml").write_text(NOTICE_WITH_SOURCE, encoding="utf-8")
    assert agent.reload() is None
    assert shown(agent) == "a"  # at once: the item on screen no longer fits
    for _ in range(3):
        clock.advance(5)
        agent.tick()
        assert shown(agent) == "a"
    [warning] = events(caplog, "content.warning")
    [detail] = warning["warnings"]
    assert detail["path"] == "items.0.fields.source"
    assert "missing slot 'source'" in detail["message"]
    assert "tb" not in played(caplog)
    # New content that fits the new layout is shown again.
    fixed = notice_item()
    fixed["fields"]["source"] = "UBND phường"
    publish(agent, playlist(4, [fixed]))
    assert shown(agent) == "tb"
    agent._shutdown()


def test_a_layout_that_comes_back_makes_the_item_show_again(
    tmp_path: Path, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    cache_content(tmp_path, clock)
    (folder / "notice.yaml").rename(folder / "notice.yaml.off")
    again = board(tmp_path, clock)
    again.start()
    assert shown(again) == "a"
    (folder / "notice.yaml.off").rename(folder / "notice.yaml")
    caplog.clear()
    caplog.set_level(logging.INFO)
    assert again.reload() is None
    clock.advance(5)
    again.tick()
    assert shown(again) == "tb"
    assert not events(caplog, "content.warning")
    again._shutdown()
