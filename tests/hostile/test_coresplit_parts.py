"""Issue 11, items 1 and 5: the parts the core was split into, and their start/stop path."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pygame
import pytest

from agent import link_attempts
from agent.assets import AssetReady
from agent.core import Agent
from agent.link_messages import Received
from agent.messages import ImageRef
from agent.output import HeadlessOutput
from firmware_bridge.output import SerialOutput
from firmware_bridge.protocols.section import unchecked_settings
from signage_base.backoff import Backoff, backoff_delay
from tests.support import COMMUNE_TOPIC, playlist
from tests.test_core import FakeClock, make_config


def _writers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "serial-writer" and t.is_alive()]


def test_a_serial_output_starts_its_writer_only_when_started(tmp_path: Path) -> None:
    """A constructor starts no thread: what fails after it (the layout library, the
    broker's settings) must not leave a writer behind."""
    pygame.init()
    settings = unchecked_settings(
        port=str(tmp_path / "no-such-port"), protocol="tpm2", panel_width=8, panel_height=4
    )
    before = len(_writers())
    output = SerialOutput(settings, lambda _message: None)
    try:
        assert len(_writers()) == before
        output.start()
        assert len(_writers()) == before + 1
    finally:
        output.close()
    never_started = SerialOutput(settings, lambda _message: None)
    never_started.close()  # closing one that never started is fine (the agent failed first)


@pytest.mark.parametrize("attempt", [1025, 5000, 10**6])
def test_the_shared_backoff_survives_a_long_outage(attempt: int) -> None:
    """A board offline for a day reaches attempt 1025 (60 s steps): 2**1024 overflowed a
    float, and the reconnect (or the image retry) raised instead of waiting."""
    rng = random.Random(7)
    assert 30.0 <= link_attempts.backoff_delay(attempt, 1.0, 60.0, rng) <= 60.0
    assert backoff_delay(attempt, 2.0, 600.0, None) == 600.0


def test_the_serial_writer_backoff_is_jittered_and_capped() -> None:
    backoff = Backoff(0.5, 3.0, random.Random(3))
    delays = [backoff.next() for _ in range(2000)]
    steps = [min(3.0, 0.5 * 2**n) for n in range(5)]
    for delay, step in zip(delays, steps, strict=False):
        assert step * 0.5 <= delay <= step
    assert all(1.5 <= d <= 3.0 for d in delays[5:])
    assert len(set(delays[5:20])) > 1  # jittered, not the plain steps
    backoff.reset()
    assert 0.25 <= backoff.next() <= 0.5


def _image_item(sha: str) -> dict[str, object]:
    image = {"url": "http://127.0.0.1:1/a.png", "sha256": sha}
    return {"id": "pic", "layout": "image_caption", "fields": {"image": image, "caption": "Ảnh"}}


def test_an_item_waits_for_its_image_until_the_fetcher_says_it_is_ready(
    tmp_path: Path,
) -> None:
    """Readiness is a set fed by `AssetReady`, asked per tick without a file check; the
    item shows once its image is in the cache and reported ready."""
    agent = Agent(make_config(tmp_path), clock=FakeClock(), output=HeadlessOutput((320, 180)))
    agent.link = None
    try:
        sha = "ab" * 32
        agent.handle(Received(COMMUNE_TOPIC, playlist(1, [_image_item(sha)]), retained=False))
        [item] = agent.playlists["commune"].items
        assert not agent.content.may_show(item)  # nothing downloaded: it waits
        agent.handle(AssetReady(sha))
        assert agent.content.may_show(item)
        ref = item.fields["image"]
        assert isinstance(ref, ImageRef)
        assert agent.content.image(ref) is None  # reported ready, but gone from the cache
        assert agent.content._lost
        agent.content.after_draw()  # wanted again: it waits for the next download
        assert not agent.content.may_show(item)
    finally:
        agent._shutdown()
