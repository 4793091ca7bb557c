"""The feed poller against real local HTTPS servers: what it hands on, what it sends, and
how every kind of bad feed changes only that feed's status."""

from __future__ import annotations

import itertools
import queue
import random
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.alert_feeds import (
    FeedAlert,
    FeedPoller,
    FeedSettings,
    FeedStatus,
    feed_settings_from,
    sources_health,
)
from agent.assets.download import FetchSettings
from agent.config import AgentConfig, ConfigError, load_config
from tests.feed_server import (
    CAP_NS,
    Certificates,
    FeedServer,
    Route,
    atom_feed,
    atom_inline_entry,
    atom_link_entry,
    cap_alert,
    feed_server,
    make_tls,
    rss_feed,
)
from tests.hostile.hostile_http import hostile_server
from tests.support import free_port, wait_until, write_config

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HTTP = FetchSettings(
    max_bytes=64 * 1024, connect_timeout_s=2, first_byte_timeout_s=0.5, deadline_s=3
)


class FakeClock:
    def __init__(self) -> None:
        self.wall = datetime(2026, 12, 2, 8, 0, tzinfo=TZ)
        self.mono = 1000.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_tls(tmp_path_factory.mktemp("feed-tls"))


@pytest.fixture
def server(tls: Certificates) -> Iterator[FeedServer]:
    with feed_server(tls.server) as running:
        yield running


class Harness:
    """A poller driven by hand: `poll()` moves the clock past every due time and polls."""

    def __init__(self, feeds: list[str], tls: Certificates, **overrides: object) -> None:
        self.clock = FakeClock()
        self.alerts: list[FeedAlert] = []
        settings = FeedSettings(tuple(feeds), http=HTTP, tls=tls.client)
        self.poller = FeedPoller(
            replace(settings, **overrides),  # type: ignore[arg-type]
            self.alerts.append,
            clock=self.clock,
            rng=random.Random(7),
        )

    def poll(self) -> list[FeedAlert]:
        before = len(self.alerts)
        self.clock.advance(10_000)
        assert self.poller.poll_due() > 0
        return self.alerts[before:]

    def status(self, index: int = 0) -> FeedStatus:
        return self.poller.statuses()[index]


def cap_identifier(payload: bytes) -> str | None:
    return ET.fromstring(payload).findtext(f"{{{CAP_NS}}}identifier")


# --- what a feed holds ------------------------------------------------------------------


def test_an_atom_entry_linking_a_cap_document_hands_on_its_bytes(
    server: FeedServer, tls: Certificates
) -> None:
    document = cap_alert("kttv-2026-0001")
    server.routes["/cap/1.xml"] = Route(document, content_type="application/cap+xml")
    server.routes["/feed"] = Route(atom_feed(atom_link_entry("urn:e1", "/cap/1.xml")))
    feeds = Harness([server.url("/feed")], tls)

    assert feeds.poll() == [FeedAlert(server.url("/feed"), document, "urn:e1")]
    status = feeds.status()
    assert status.last_success_at == feeds.clock.wall
    assert (status.last_error, status.entries) == (None, 1)


def test_an_atom_entry_holding_a_cap_alert_inline_is_handed_on_as_a_document(
    server: FeedServer, tls: Certificates
) -> None:
    server.routes["/feed"] = Route(
        atom_feed(atom_inline_entry("urn:e2", cap_alert("kttv-inline", "Lũ quét")))
    )
    feeds = Harness([server.url("/feed")], tls)

    [alert] = feeds.poll()
    assert alert.entry_id == "urn:e2"
    root = ET.fromstring(alert.payload)
    assert root.tag == f"{{{CAP_NS}}}alert"
    assert cap_identifier(alert.payload) == "kttv-inline"
    assert root.findtext(f"{{{CAP_NS}}}info/{{{CAP_NS}}}headline") == "Lũ quét"
    assert [r.path for r in server.requests] == ["/feed"]  # nothing else fetched


def test_an_rss_item_link_is_fetched(server: FeedServer, tls: Certificates) -> None:
    server.routes["/cap/a.xml"] = Route(cap_alert("rss-a"))
    server.routes["/rss"] = Route(rss_feed(server.url("/cap/a.xml")))
    feeds = Harness([server.url("/rss")], tls)

    [alert] = feeds.poll()
    assert cap_identifier(alert.payload) == "rss-a"
    assert alert.entry_id == server.url("/cap/a.xml")


def test_a_single_cap_document_is_handed_on_once_named_by_its_identifier(
    server: FeedServer, tls: Certificates
) -> None:
    document = cap_alert("kttv-single")
    server.routes["/alert.xml"] = Route(document)  # no validators: read in full every time
    feeds = Harness([server.url("/alert.xml")], tls)

    assert feeds.poll() == [FeedAlert(server.url("/alert.xml"), document, "kttv-single")]
    assert feeds.poll() == []  # the same bytes again: not handed on twice
    server.routes["/alert.xml"] = Route(cap_alert("kttv-single", "Cập nhật"))
    assert len(feeds.poll()) == 1


# --- conditional requests and what is not fetched again ---------------------------------


def test_a_304_sends_both_validators_and_hands_nothing_on_again(
    server: FeedServer, tls: Certificates
) -> None:
    server.routes["/cap/1.xml"] = Route(cap_alert("c1"))
    server.routes["/feed"] = Route(
        atom_feed(atom_link_entry("urn:e1", "/cap/1.xml")),
        etag='"v1"',
        last_modified="Wed, 02 Dec 2026 01:00:00 GMT",
    )
    feeds = Harness([server.url("/feed")], tls)
    assert len(feeds.poll()) == 1
    first_success = feeds.status().last_success_at

    assert feeds.poll() == []
    [_, again] = server.hits("/feed")
    assert again.headers["If-None-Match"] == '"v1"'
    assert again.headers["If-Modified-Since"] == "Wed, 02 Dec 2026 01:00:00 GMT"
    assert len(server.hits("/cap/1.xml")) == 1
    status = feeds.status()
    assert status.last_success_at is not None
    assert first_success is not None
    assert status.last_success_at > first_success  # a 304 is a success
    assert (status.entries, status.last_error) == (1, None)


def test_an_unchanged_entry_is_not_fetched_again_and_a_changed_one_is(
    server: FeedServer, tls: Certificates
) -> None:
    server.routes["/cap/1.xml"] = Route(cap_alert("c1"))
    server.routes["/feed"] = Route(atom_feed(atom_link_entry("urn:e1", "/cap/1.xml")))
    feeds = Harness([server.url("/feed")], tls)
    assert len(feeds.poll()) == 1
    assert feeds.poll() == []
    assert len(server.hits("/cap/1.xml")) == 1
    assert "If-None-Match" not in server.hits("/feed")[1].headers  # none was given

    server.routes["/cap/1.xml"] = Route(cap_alert("c1-update"))
    server.routes["/feed"] = Route(
        atom_feed(atom_link_entry("urn:e1", "/cap/1.xml", updated="2026-12-02T09:00:00+07:00"))
    )
    [update] = feeds.poll()
    assert cap_identifier(update.payload) == "c1-update"


# --- every failure is that feed's status, in one sentence -------------------------------


def assert_failed(feeds: Harness, *words: str) -> str:
    status = feeds.status()
    assert status.last_success_at is None
    assert status.last_error is not None
    assert status.last_error_at == feeds.clock.wall
    assert status.last_error.startswith(f"feed {status.url}: ")
    assert len(status.last_error) <= 300
    for word in words:
        assert word in status.last_error
    return status.last_error


def test_a_server_that_is_down_is_one_sentence_in_the_feeds_status(tls: Certificates) -> None:
    feeds = Harness([f"https://127.0.0.1:{free_port()}/feed"], tls)
    assert feeds.poll() == []
    assert_failed(feeds, "unreachable", "refused the connection")


def test_a_server_that_never_answers_is_cut_off_at_the_first_byte_deadline(
    tmp_path: Path, tls: Certificates
) -> None:
    with hostile_server(tls=tls.server) as silent:
        feeds = Harness([silent.url("/silent")], tls)
        assert feeds.poll() == []
    assert_failed(feeds, "no answer within 0.5 s")


def test_a_feed_that_drips_is_cut_off_at_the_whole_deadline(tls: Certificates) -> None:
    with hostile_server(tls=tls.server, drip_interval_s=0.05) as dripping:
        dripping.files["feed"] = atom_feed(atom_link_entry("urn:e", "/cap/1.xml"))
        feeds = Harness([dripping.url("/drip/feed")], tls, http=replace(HTTP, deadline_s=1))
        assert feeds.poll() == []
    assert_failed(feeds, "no complete answer within the total deadline of 1 s")


def test_an_http_error_names_the_status(server: FeedServer, tls: Certificates) -> None:
    server.routes["/feed"] = Route(status=500)
    feeds = Harness([server.url("/feed")], tls)
    feeds.poll()
    assert_failed(feeds, "HTTP 500")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"\x00\xffnot xml at all", ("not well-formed XML", "line 1")),
        (b"<html><body>Maintenance</body></html>", ("not a CAP feed", "<html>")),
        (
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"><identifier>x</identifier>'
            b"</alert>",
            ("not a CAP feed", "cap:1.1"),
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><feed>&lol2;</feed>',
            ("DTD",),
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b"<rss>&e;</rss>",
            ("DTD",),
        ),
    ],
    ids=["junk", "html", "cap-1.1", "billion-laughs", "external-entity"],
)
def test_a_body_that_is_not_a_feed_says_what_it_is(
    server: FeedServer, tls: Certificates, body: bytes, words: tuple[str, ...]
) -> None:
    server.routes["/feed"] = Route(body)
    feeds = Harness([server.url("/feed")], tls)
    assert feeds.poll() == []
    assert_failed(feeds, *words)


def test_an_oversized_feed_is_refused_at_the_limit(server: FeedServer, tls: Certificates) -> None:
    entry = atom_link_entry("urn:e", "/cap/x.xml")
    server.routes["/feed"] = Route(atom_feed(*[entry] * 1000))  # about 130 kB
    feeds = Harness([server.url("/feed")], tls)
    feeds.poll()
    assert_failed(feeds, f"larger than the limit of {64 * 1024} bytes")


def test_a_feed_of_10000_entries_is_read_in_bounds(server: FeedServer, tls: Certificates) -> None:
    server.routes["/cap/1.xml"] = Route(cap_alert("c1"))
    entries = [atom_link_entry(f"urn:e{n}", "/cap/1.xml") for n in range(10_000)]
    server.routes["/feed"] = Route(atom_feed(*entries))
    feeds = Harness(
        [server.url("/feed")],
        tls,
        http=replace(HTTP, max_bytes=4 * 1024 * 1024),
        max_entries=50,
        max_documents_per_poll=5,
    )

    assert len(feeds.poll()) == 5
    assert len(server.hits("/cap/1.xml")) == 5
    status = feeds.status()
    assert status.entries == 10_000
    assert status.last_success_at is not None
    assert status.last_error is not None
    assert "10000 entries; only the first 50 are read" in status.last_error
    assert len(feeds.poll()) == 5  # the next five on the next poll
    assert len(server.hits("/cap/1.xml")) == 10


def test_a_redirect_to_a_host_not_allowed_is_refused(server: FeedServer, tls: Certificates) -> None:
    server.routes["/feed"] = Route(status=302, location=server.url("/elsewhere", "localhost"))
    feeds = Harness([server.url("/feed")], tls)
    feeds.poll()
    assert_failed(feeds, "redirect to another host", "localhost")
    assert [r.path for r in server.requests] == ["/feed"]


def test_a_link_to_plain_http_is_not_fetched(server: FeedServer, tls: Certificates) -> None:
    server.routes["/feed"] = Route(
        atom_feed(atom_link_entry("urn:plain", f"http://127.0.0.1:{server.port}/cap/1.xml"))
    )
    feeds = Harness([server.url("/feed")], tls)
    assert feeds.poll() == []
    error = feeds.status().last_error
    assert error is not None
    assert "entry urn:plain" in error
    assert "https only" in error


def test_a_bad_entry_fails_alone_and_is_tried_again(server: FeedServer, tls: Certificates) -> None:
    server.routes["/cap/good.xml"] = Route(cap_alert("good"))
    server.routes["/cap/bad.xml"] = Route(b"<html>not CAP</html>")
    server.routes["/feed"] = Route(
        atom_feed(
            atom_link_entry("urn:bad", "/cap/bad.xml"), atom_link_entry("urn:good", "/cap/good.xml")
        ),
        etag='"v1"',
    )
    feeds = Harness([server.url("/feed")], tls)

    [alert] = feeds.poll()
    assert alert.entry_id == "urn:good"
    status = feeds.status()
    assert status.last_success_at is not None
    assert status.last_error is not None
    assert "entry urn:bad" in status.last_error
    assert "not a CAP 1.2 alert" in status.last_error

    server.routes["/cap/bad.xml"] = Route(cap_alert("fixed"))
    [fixed] = feeds.poll()
    # The feed was read in full again (a 304 would have hidden the entry to retry).
    assert "If-None-Match" not in server.hits("/feed")[1].headers
    assert cap_identifier(fixed.payload) == "fixed"
    assert len(server.hits("/cap/good.xml")) == 1


def test_a_failing_feed_backs_off_with_jitter_and_a_good_one_keeps_its_interval(
    server: FeedServer, tls: Certificates
) -> None:
    server.routes["/feed"] = Route(atom_feed())
    server.routes["/broken"] = Route(status=503)
    feeds = Harness([server.url("/feed"), server.url("/broken")], tls, interval_s=60.0)
    polled_at: dict[str, list[float]] = {"/feed": [], "/broken": []}
    for _second in range(1500):
        seen = len(server.requests)
        feeds.poller.poll_due()
        for request in server.requests[seen:]:
            polled_at[request.path].append(feeds.clock.mono)
        feeds.clock.advance(1)

    good_gaps = gaps(polled_at["/feed"])
    assert all(54 <= gap <= 67 for gap in good_gaps), good_gaps  # the interval ± 10 %
    assert len(set(good_gaps)) > 1  # jittered, not a fixed beat
    broken_gaps = gaps(polled_at["/broken"])
    assert broken_gaps == sorted(broken_gaps), broken_gaps  # each wait at least the last
    assert broken_gaps[0] <= 60, broken_gaps
    assert broken_gaps[-1] > 240, broken_gaps
    broken_error = feeds.status(1).last_error
    assert broken_error is not None
    assert "HTTP 503" in broken_error


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


# --- the thread ---------------------------------------------------------------------------


def test_one_hostile_feed_does_not_stop_the_others(tls: Certificates) -> None:
    delivered: queue.Queue[FeedAlert] = queue.Queue()
    with feed_server(tls.server) as good, hostile_server(tls=tls.server) as hostile:
        good.routes["/cap/1.xml"] = Route(cap_alert("good"))
        good.routes["/feed"] = Route(atom_feed(atom_link_entry("urn:g", "/cap/1.xml")))
        urls = (hostile.url("/silent"), hostile.url("/drip-headers/x"), good.url("/feed"))
        settings = FeedSettings(urls, http=HTTP, tls=tls.client, first_poll_spread_s=0)
        poller = FeedPoller(settings, delivered.put, rng=random.Random(1))
        poller.start()
        try:
            alert = delivered.get(timeout=15)
        finally:
            poller.stop()
    assert cap_identifier(alert.payload) == "good"
    silent, dripping, fine = poller.statuses()
    assert silent.last_error is not None
    assert "no answer within 0.5 s" in silent.last_error
    assert dripping.last_error is not None
    assert "0.5 s" in dripping.last_error
    assert fine.last_error is None
    assert fine.last_success_at is not None
    assert not poller.alive


@pytest.mark.allow_traceback
def test_the_thread_survives_a_failing_hand_on_and_a_failing_loop(
    server: FeedServer, tls: Certificates
) -> None:
    server.routes["/feed"] = Route(cap_alert("one"))

    def refuse(_alert: FeedAlert) -> None:
        raise RuntimeError("the core's queue is gone")

    class BrokenOnce(FakeClock):
        calls = 0

        def monotonic(self) -> float:
            self.calls += 1
            if self.calls == 3:  # inside the loop, between two polls
                raise OSError("clock read failed")
            return super().monotonic()

    clock = BrokenOnce()
    settings = FeedSettings(
        (server.url("/feed"),), http=HTTP, tls=tls.client, first_poll_spread_s=0
    )
    restarts: list[str] = []
    poller = FeedPoller(
        settings, refuse, clock=clock, restart_delay_s=0, on_restart=restarts.append
    )
    poller.start()
    try:
        wait_until(lambda: poller.statuses()[0].last_error, 10, "the first poll's error")
        clock.advance(10_000)
        poller.wake()
        server.wait_for(2)
    finally:
        poller.stop()
    assert poller.restarts == 1
    assert restarts == ["alert feed poller failed (OSError: clock read failed) and was restarted"]
    error = poller.statuses()[0].last_error
    assert error is not None
    assert "internal error: RuntimeError: the core's queue is gone" in error


def test_start_is_explicit_and_stop_is_prompt(server: FeedServer, tls: Certificates) -> None:
    server.routes["/feed"] = Route(atom_feed())
    settings = FeedSettings(
        (server.url("/feed"),), http=HTTP, tls=tls.client, first_poll_spread_s=0
    )
    poller = FeedPoller(settings, lambda _a: None)
    assert not poller.alive
    assert server.requests == []
    poller.start()
    wait_until(lambda: poller.statuses()[0].last_success_at, 10, "the first poll")
    started = time.monotonic()
    poller.stop(timeout_s=5)
    assert not poller.alive
    assert time.monotonic() - started < 1  # the thread waits on a condition, not a sleep


# --- configuration and the heartbeat ------------------------------------------------------


def test_settings_come_from_alerts_and_content() -> None:
    config = AgentConfig.model_validate(
        {
            "board": {"id": "b1", "district": "ba-dinh", "commune": "phuc-xa", "name": "B"},
            "alerts": {"feeds": ["https://canhbao.kttv.gov.vn/cap.atom"], "feed_interval_s": 30},
            "content": {"allowed_hosts": ["cdn.hanoi.gov.vn"], "max_payload_bytes": 200_000},
        }
    )
    settings = feed_settings_from(config)
    assert settings.feeds == ("https://canhbao.kttv.gov.vn/cap.atom",)
    assert settings.interval_s == 30
    assert settings.http.max_bytes == 200_000
    assert settings.http.deadline_s == 30  # a poll never outlasts its interval
    assert settings.http.allowed_hosts == {"cdn.hanoi.gov.vn", "canhbao.kttv.gov.vn"}


def test_sources_health_is_the_heartbeats_alerts_sources() -> None:
    at = datetime(2026, 12, 2, 8, 0, tzinfo=TZ)
    statuses = [
        FeedStatus("https://a.vn/feed", last_success_at=at, entries=3),
        FeedStatus("https://b.vn/cap.xml", last_error="feed …: HTTP 500", last_error_at=at),
    ]
    assert [s.model_dump(mode="json") for s in sources_health(statuses)] == [
        {
            "kind": "feed",
            "url": "https://a.vn/feed",
            "last_success_at": "2026-12-02T08:00:00.000+07:00",
            "last_error": None,
            "last_error_at": None,
            "entries": 3,
        },
        {
            "kind": "feed",
            "url": "https://b.vn/cap.xml",
            "last_success_at": None,
            "last_error": "feed …: HTTP 500",
            "last_error_at": "2026-12-02T08:00:00.000+07:00",
            "entries": 0,
        },
    ]


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        ('feeds = ["http://canhbao.vn/cap.atom"]', "alerts.feeds.0: String should be an https://"),
        ('feeds = ["https://canhbao.vn:99999/"]', "alerts.feeds.0: a broken host or port"),
        ('feeds = ["https://a.vn/x", "https://a.vn/x"]', "alerts.feeds: a feed is listed twice"),
        ("feeds = [" + ", ".join(f'"https://a.vn/{n}"' for n in range(9)) + "]", "at most 8 items"),
        ("feed_interval_s = 5", "alerts.feed_interval_s: Input should be greater than or equal"),
        ("feed = []", "alerts.feed: unknown key; did you mean 'feeds'?"),
    ],
)
def test_a_bad_alerts_section_names_the_key(tmp_path: Path, alerts: str, message: str) -> None:
    config = write_config(tmp_path, port=None, extra=f"[alerts]\n{alerts}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config, env={})
    assert any(message in problem for problem in caught.value.problems), caught.value.problems


def test_a_board_without_feeds_polls_nothing(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, port=None), env={})
    assert config.alerts.feeds == []
    assert config.alerts.feed_interval_s == 60
    poller = FeedPoller(feed_settings_from(config), lambda _a: None)
    poller.start()
    assert not poller.alive
    assert poller.statuses() == ()
