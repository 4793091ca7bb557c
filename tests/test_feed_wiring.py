"""The alert feeds wired into the core (CONTRACT §6, issue 12): the poller built only for a
board with `[alerts] feeds`, started and stopped with the board, what it hands on taking
the path of an alert topic's payload, its restarts reported, and each source of alerts
in the heartbeat. In-process with an injected clock, against a real local HTTPS server."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agent.core import Agent
from agent.core_queue import CoreMessage
from agent.feed_reports import FeedAlert, FeedPollerRestarted
from agent.link_messages import Received
from agent.output import HeadlessOutput
from tests.feed_server import Certificates, FeedServer, Route, atom_feed, feed_server, make_tls
from tests.support import ROOT, free_port
from tests.test_core import FakeClock, alert_payload, events, make_config, now_showing

REPO = Path(__file__).resolve().parent.parent
FEED = "https://canhbao.kttv.gov.vn/cap.atom"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_tls(tmp_path_factory.mktemp("feed-tls"))


@pytest.fixture
def server(tls: Certificates) -> Iterator[FeedServer]:
    with feed_server(tls.server) as running:
        yield running


def board(tmp_path: Path, clock: FakeClock, feeds: list[str], tls: Certificates) -> Agent:
    config = make_config(tmp_path, alerts={"feeds": feeds, "feed_interval_s": 60})
    made = Agent(config, clock=clock, output=HeadlessOutput((320, 180)))
    made.link = None  # in-process: events go to the log only
    assert made.feeds is not None
    # The test CA instead of the system's; the first polls at once.
    made.feeds.settings = replace(made.feeds.settings, tls=tls.client, first_poll_spread_s=0)
    return made


def handle_all(agent: Agent) -> list[CoreMessage]:
    """What the other threads put on the queue so far, handled as the loop's turn would."""
    handled: list[CoreMessage] = []

    def handle(message: CoreMessage) -> None:
        handled.append(message)
        agent.handle(message)

    agent.inflow.turn(lambda: 0.0, handle)
    agent.tick()
    return handled


def close(agent: Agent) -> None:
    agent.fetcher.stop()
    agent.seq.close()


# --- memory: a board without feeds does not load them --------------------------------------

PROBE = """
import json, sys
from pathlib import Path
from agent.config import load_config
from agent.core import Agent
from agent.output import HeadlessOutput
agent = Agent(load_config(Path(sys.argv[1]), {}), output=HeadlessOutput((64, 32)))
print(json.dumps(sorted(m for m in sys.modules if m.startswith("agent.alert_feeds"))))
"""


@pytest.mark.parametrize(("feeds", "loaded"), [(None, False), ([FEED], True)])
def test_only_a_board_with_feeds_loads_the_feed_poller(
    tmp_path: Path, feeds: list[str] | None, loaded: bool
) -> None:
    """The board's RAM budget is tight: agent/alert_feeds/ (its XML reader, its HTTP
    client) is loaded only when `[alerts] feeds` names a feed. The board with feeds proves
    that the probe sees the package when it is there."""
    alerts = f"[alerts]\nfeeds = {json.dumps(feeds)}\n" if feeds else ""
    config = tmp_path / "agent.toml"
    config.write_text(
        '[board]\nid = "hn-01"\ndistrict = "ba-dinh"\ncommune = "phuc-xa"\nname = "B"\n'
        f'[display]\noutput = "headless"\n[storage]\nstate_dir = "{tmp_path / "state"}"\n' + alerts,
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(config)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=REPO,
        env={"SDL_VIDEODRIVER": "dummy", "PATH": "/usr/bin:/bin"},
    )
    modules = json.loads(result.stdout.strip().splitlines()[-1])
    assert bool(modules) is loaded, modules
    if loaded:
        assert "agent.alert_feeds.poller" in modules


def test_a_board_without_feeds_has_no_poller_and_only_the_broker_as_source(
    tmp_path: Path,
) -> None:
    made = Agent(make_config(tmp_path), clock=FakeClock(), output=HeadlessOutput((320, 180)))
    try:
        assert made.feeds is None
        # `mqtt` configured (the link is never started here): the broker is the one source.
        sources = made.heartbeat().alerts.model_dump(mode="json")["sources"]
        assert sources == [{"kind": "mqtt", "last_message_at": None}]
    finally:
        close(made)


# --- what a feed hands on ------------------------------------------------------------------


def test_a_feed_alert_takes_the_path_of_an_alert_topic_payload(
    tmp_path: Path, tls: Certificates, caplog: pytest.LogCaptureFixture
) -> None:
    """The core's case for `FeedAlert` hands its bytes to the alert desk as an alert
    topic's payload would be (the entry id standing for the topic's alert id): the same
    takeover, the same refusal of a bad one — named by the feed."""
    caplog.set_level(logging.INFO)
    agent = board(tmp_path, FakeClock(), [FEED], tls)
    try:
        agent.queue.put(FeedAlert(FEED, alert_payload(), "bao-so-3"))
        handle_all(agent)
        assert [e["alert_id"] for e in events(caplog, "alert.started")] == ["bao-so-3"]
        assert now_showing(agent) == ("bao-so-3", "alert")

        agent.queue.put(FeedAlert(FEED, b"\xff not an alert", "entry-2"))
        handle_all(agent)
        rejected = events(caplog, "content.rejected")
        assert [e["topic"] for e in rejected] == [f"feed:{FEED}"]
        assert now_showing(agent) == ("bao-so-3", "alert")  # nothing else changed
    finally:
        close(agent)


def test_feed_alerts_are_handled_with_the_alerts_before_content(
    tmp_path: Path, tls: Certificates
) -> None:
    """Under a backlog, alerts go first (agent/inflow.py): a feed's alert is an alert."""
    agent = board(tmp_path, FakeClock(), [FEED], tls)
    try:
        content = Received(f"{ROOT}/commune/ba-dinh/phuc-xa/playlist", b"{}", retained=False)
        feed = FeedAlert(FEED, alert_payload(), "bao-so-3")
        alert_topic = Received(f"{ROOT}/alert/city/bao-so-3", b"{}", retained=False)
        assert agent.inflow.rank(feed) == agent.inflow.rank(alert_topic)
        assert agent.inflow.rank(feed) < agent.inflow.rank(content)
    finally:
        close(agent)


@pytest.mark.allow_traceback
def test_a_poller_restart_is_reported_like_a_fetcher_restart(
    tmp_path: Path, tls: Certificates, caplog: pytest.LogCaptureFixture
) -> None:
    """The poller's loop failing (a bug) is counted, and said once as `display.error`
    through the core's queue, as a download worker's death is."""
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    agent = board(tmp_path, clock, [FEED], tls)
    feeds = agent.feeds
    assert feeds is not None
    feeds.restart_delay_s = 60.0  # one restart in this test, then it waits

    def broken() -> None:
        raise OSError("clock read failed")

    feeds._loop = broken  # type: ignore[method-assign]
    feeds.start()
    try:
        message = agent.queue.get(timeout=10)
        assert isinstance(message, FeedPollerRestarted)
        agent.handle(message)
    finally:
        feeds.stop()
        close(agent)
    assert feeds.restarts == 1
    errors = [e["message"] for e in events(caplog, "display.error")]
    assert errors == ["alert feed poller failed (OSError: clock read failed) and was restarted"]


# --- the heartbeat's sources ---------------------------------------------------------------


def test_the_heartbeat_gives_each_source_its_last_success_and_last_error(
    tmp_path: Path, server: FeedServer, tls: Certificates
) -> None:
    server.routes["/good.atom"] = Route(atom_feed(), etag='"v1"')
    server.routes["/junk.atom"] = Route(b"<html>maintenance</html>")
    down = f"https://127.0.0.1:{free_port()}/down.atom"
    urls = [server.url("/good.atom"), server.url("/junk.atom"), down]
    clock = FakeClock()
    agent = board(tmp_path, clock, urls, tls)
    try:
        assert agent.feeds is not None
        assert agent.feeds.poll_due() == 3
        agent.handle(Received(f"{ROOT}/alert/city/bao-so-3", alert_payload(), retained=False))
        agent.tick()
        assert now_showing(agent) == ("bao-so-3", "alert")  # the broker's path, untouched
        sources: list[dict[str, Any]] = agent.heartbeat().alerts.model_dump(mode="json")["sources"]
    finally:
        close(agent)
    at = "2026-11-27T09:00:00.000+07:00"  # the injected clock, in board time
    assert sources[0] == {"kind": "mqtt", "last_message_at": at}
    good, junk, unreachable = sources[1:]
    assert good == {
        "kind": "feed",
        "url": urls[0],
        "last_success_at": at,
        "last_error": None,
        "last_error_at": None,
        "entries": 0,
    }
    assert junk["last_success_at"] is None
    assert junk["last_error_at"] == at
    assert junk["last_error"].startswith(f"feed {urls[1]}: ")
    assert unreachable["last_success_at"] is None
    assert unreachable["last_error"].startswith(f"feed {down}: ")


def test_the_poller_starts_with_the_board_and_stops_with_it(
    tmp_path: Path, server: FeedServer, tls: Certificates
) -> None:
    """One start/stop path: `start` starts the poller and puts its stop on the stack that
    `_shutdown` unwinds; its first poll happens on its own thread."""
    server.routes["/feed.atom"] = Route(atom_feed())
    agent = board(tmp_path, FakeClock(), [server.url("/feed.atom")], tls)
    feeds = agent.feeds
    assert feeds is not None
    assert not feeds.alive
    assert server.requests == []
    try:
        agent.start()
        assert feeds.alive
        server.wait_for(1)
    finally:
        agent._shutdown()
    assert not feeds.alive
