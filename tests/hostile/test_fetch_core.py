"""The core with the fetcher: configuration reaches it, a broken download never goes on
screen, and a replaced download worker is reported."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.assets import AssetFailure, FetcherRestarted
from agent.config import ConfigError, load_config
from agent.core import Agent
from agent.output import HeadlessOutput
from tests.hostile.hostile_http import HostileServer, bomb_png, hostile_server
from tests.support import playlist, text_item
from tests.test_core import FakeClock, events, make_config, publish, shown


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with hostile_server() as s:
        yield s


def make_agent(tmp_path: Path, **content: object) -> Agent:
    config = make_config(tmp_path, content=content)
    made = Agent(config, clock=FakeClock(), output=HeadlessOutput((320, 180)))
    made.link = None  # in-process: events go to the log only
    return made


def test_content_keys_configure_the_fetcher(tmp_path: Path) -> None:
    agent = make_agent(
        tmp_path,
        download_connect_timeout_s=3,
        download_first_byte_timeout_s=4,
        download_deadline_s=30,
        download_workers=2,
        allowed_hosts=["CDN.Hanoi.gov.vn", "[::1]"],
        max_image_side=2048,
        max_image_pixels=1_000_000,
    )
    try:
        settings = agent.fetcher.settings
        assert (settings.connect_timeout_s, settings.first_byte_timeout_s) == (3, 4)
        assert (settings.deadline_s, settings.workers) == (30, 2)
        assert settings.allowed_hosts == frozenset({"cdn.hanoi.gov.vn", "::1"})
        assert (settings.limits.max_side, settings.limits.max_pixels) == (2048, 1_000_000)
        assert agent.assets.limits == settings.limits == agent.image_limits
    finally:
        agent.fetcher.stop()
        agent.seq.close()


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ('allowed_hosts = ["https://cdn.example.vn/"]', "content.allowed_hosts.0"),
        ("download_deadline_s = nan", "content.download_deadline_s"),
        ("download_workers = 0", "content.download_workers"),
        ("max_image_pixels = 10", "content.max_image_pixels"),
    ],
)
def test_bad_content_keys_are_config_errors(tmp_path: Path, line: str, where: str) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(
        f'[board]\nid = "hn-01"\ndistrict = "ba-dinh"\ncommune = "phuc-xa"\n\n[content]\n{line}\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert any(f": {where}: " in problem for problem in caught.value.problems)


def test_a_downloaded_bomb_is_never_shown_and_says_why(
    tmp_path: Path, server: HostileServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bomb = bomb_png()
    server.files["bomb"] = bomb
    image = {"url": server.url("/files/bomb"), "sha256": hashlib.sha256(bomb).hexdigest()}
    item = {"id": "anh", "layout": "image_caption", "fields": {"image": image, "caption": "x"}}
    agent = make_agent(tmp_path)
    try:
        publish(agent, playlist(1, [item, text_item("chu", "Chữ", duration_s=1)]))
        message = agent.queue.get(timeout=10)
        assert isinstance(message, AssetFailure)
        agent.handle(message)
        failed = events(caplog, "asset.failed")
        assert [f["item_id"] for f in failed] == ["anh"]
        assert "4000×4000" in failed[0]["message"]
        assert "not retried" in failed[0]["message"]
        for _ in range(5):  # rotation goes on without it: never a picture-less caption
            assert isinstance(agent.clock, FakeClock)
            agent.clock.advance(1.1)
            agent.tick()
            assert shown(agent) == "chu"
    finally:
        agent.fetcher.stop()
        agent.seq.close()


def test_a_replaced_download_worker_is_reported_as_display_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    agent = make_agent(tmp_path)
    try:
        agent.handle(FetcherRestarted("image download worker 0 died (X: y) and was restarted"))
        errors = events(caplog, "display.error")
        assert [e["message"] for e in errors] == [
            "image download worker 0 died (X: y) and was restarted"
        ]
    finally:
        agent.fetcher.stop()
        agent.seq.close()
