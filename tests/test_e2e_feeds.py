"""Alert feeds end to end (CONTRACT §6, issue 12): a real agent process, a real Mosquitto
and a local HTTPS feed server whose private CA the agent trusts (`SSL_CERT_FILE`).

CAP documents served by the feed become alerts on the alert path (agent/alert_desk.py),
one incident whichever path a message takes; a feed that is down or serves junk changes
only its source's status in the heartbeat.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.cap_documents import example
from tests.feed_server import FeedServer, Route, atom_feed, atom_link_entry, feed_server, make_tls
from tests.support import (
    COMMUNE_TOPIC,
    ROOT,
    AgentProcess,
    Broker,
    Message,
    Observer,
    board_topic,
    event_matcher,
    free_port,
    playlist,
    text_item,
    wait_online,
    write_config,
)

pytestmark = pytest.mark.e2e
EVENTS = board_topic("events")
HEARTBEAT = board_topic("heartbeat")
INTERVAL_S = 15  # the shortest `[alerts] feed_interval_s`; a poll comes within ±10 % of it
NEXT_POLL_S = INTERVAL_S * 1.1 + 10  # the next poll, and the handling and heartbeat after it

STORM = ("vn-storm-bao-so-3", "vn-storm-bao-so-3-update", "vn-storm-bao-so-3-cancel")
FIRST_ID = "HN-PCTT-2026-0906-001"  # the incident's first message: its `alert_id`
UPDATE_ID = "HN-PCTT-2026-0906-002"
_CAP_TIME = re.compile(r"2026-09-0\dT\d\d:\d\d:\d\d\+07:00")
_ICT = timezone(timedelta(hours=7))


def storm_documents() -> dict[str, bytes]:
    """The storm, its Update and its Cancel (docs/examples/cap), moved in time together so
    that the Cancel was sent a minute ago: the alert and the Update have not expired, and
    the `references` still name the earlier messages' `sent`."""
    cancel_sent = datetime(2026, 9, 7, 9, 30, tzinfo=_ICT)
    shift = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1) - cancel_sent

    def moved(match: re.Match[str]) -> str:
        return (datetime.fromisoformat(match.group(0)) + shift).astimezone(_ICT).isoformat()

    return {name: _CAP_TIME.sub(moved, example(name).decode()).encode() for name in STORM}


@dataclass
class Feeds:
    server: FeedServer
    ca_file: Path


@pytest.fixture
def feeds(tmp_path: Path) -> Iterator[Feeds]:
    certificates = tmp_path / "feed-tls"
    certificates.mkdir()
    tls = make_tls(certificates)
    with feed_server(tls.server) as server:
        yield Feeds(server, certificates / "ca.crt")


def start(
    tmp_path: Path, broker: Broker, agents: list[AgentProcess], feeds: Feeds, urls: list[str]
) -> AgentProcess:
    listed = ", ".join(f'"{url}"' for url in urls)
    extra = f"[alerts]\nfeeds = [{listed}]\nfeed_interval_s = {INTERVAL_S}\n"
    config = write_config(tmp_path, port=broker.port, heartbeat_s=1, extra=extra)
    # The agent trusts the system's CAs for feeds; here that is the test's private CA.
    env = {"SSL_CERT_FILE": str(feeds.ca_file)}
    agent = AgentProcess(config, tmp_path / f"agent-{len(agents)}.log", env=env).start()
    agents.append(agent)
    return agent


def show_content(observer: Observer) -> None:
    wait_online(observer)
    observer.publish(
        COMMUNE_TOPIC,
        playlist(1, [text_item("tin", "Lịch tiêm chủng", duration_s=600)]),
        retain=True,
    )
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="tin"))


def heartbeat_where(
    observer: Observer, holds: Callable[[dict[str, Any]], bool], timeout: float, start: int = 0
) -> dict[str, Any]:
    def match(message: Message) -> bool:
        return message.topic == HEARTBEAT and holds(message.json())

    return dict(observer.wait_for(match, timeout=timeout, start=start).json())


def feed_sources(beat: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["url"]: s for s in beat["alerts"]["sources"] if s["kind"] == "feed"}


def events_of(observer: Observer, start: int, *kinds: str) -> list[dict[str, Any]]:
    found = observer.find(lambda m: m.topic == EVENTS and m.json()["kind"] in kinds, start)
    return [dict(m.json()) for m in found]


# --- the wiring alone ----------------------------------------------------------------------


def test_the_storm_documents_moved_in_time_are_current_cap_naming_one_another() -> None:
    """The CAP tests below are only as good as their documents: valid CAP 1.2 (the parser
    of agent/cap), not expired, sent in the past, each `references` naming its earlier
    messages as they are now sent."""
    from agent.cap import parse_cap

    now = datetime.now(UTC)
    storm, update, cancel = (parse_cap(document) for document in storm_documents().values())
    assert (storm.identifier, update.identifier) == (FIRST_ID, UPDATE_ID)
    assert storm.sent < update.sent < cancel.sent <= now
    assert all(info.expires is not None and info.expires > now for info in storm.infos)
    assert [(r.identifier, r.sent) for r in update.references] == [(FIRST_ID, storm.sent)]
    assert [(r.identifier, r.sent) for r in cancel.references] == [
        (FIRST_ID, storm.sent),
        (UPDATE_ID, update.sent),
    ]


def test_a_feed_that_is_down_or_sends_junk_changes_nothing_but_its_status(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess], feeds: Feeds
) -> None:
    server = feeds.server
    server.routes["/good.atom"] = Route(atom_feed(), etag='"v1"')
    server.routes["/junk.atom"] = Route(b"\x00\x01 <<< maintenance >>>", content_type="text/html")
    good, junk = server.url("/good.atom"), server.url("/junk.atom")
    down = f"https://127.0.0.1:{free_port()}/cap.atom"
    agent = start(tmp_path, broker, agents, feeds, [good, junk, down])
    show_content(observer)
    mark = observer.mark()

    def all_polled(beat: dict[str, Any]) -> bool:
        sources = feed_sources(beat)
        return (
            sources[good]["last_success_at"] is not None
            and sources[junk]["last_error"] is not None
            and sources[down]["last_error"] is not None
        )

    # The first polls are spread over 5 s after start.
    beat = heartbeat_where(observer, all_polled, timeout=20)
    sources = beat["alerts"]["sources"]
    assert [s["kind"] for s in sources] == ["mqtt", "feed", "feed", "feed"]
    assert [s.get("url") for s in sources[1:]] == [good, junk, down]  # the configured order
    by_url = feed_sources(beat)
    assert by_url[good]["last_error"] is None
    assert by_url[good]["entries"] == 0
    assert by_url[junk]["last_success_at"] is None
    assert by_url[junk]["last_error"].startswith(f"feed {junk}: not well-formed XML")
    assert by_url[down]["last_success_at"] is None
    assert by_url[down]["last_error"].startswith(f"feed {down}: unreachable")
    # Nothing else changed: the content plays on, no alert, nothing refused or in error.
    assert beat["now_showing"]["item_id"] == "tin"
    assert beat["alerts_active"] == []
    assert beat["errors_total"] == 0
    assert events_of(observer, mark, "content.rejected", "display.error") == []
    assert [e for e in events_of(observer, 0) if e["kind"].startswith("alert.")] == []
    assert agent.alive()
    assert agent.terminate() == 0


# --- CAP through a feed (needs CAP on the alert path) --------------------------------------


def test_a_cap_alert_on_a_feed_takes_over_an_update_changes_its_text_a_cancel_ends_it(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess], feeds: Feeds
) -> None:
    documents = storm_documents()
    server = feeds.server
    entries = []
    for number, name in enumerate(STORM, start=1):
        server.routes[f"/cap/{number}.xml"] = Route(documents[name])
        entries.append(atom_link_entry(f"urn:storm:{number}", server.url(f"/cap/{number}.xml")))
    server.routes["/cap.atom"] = Route(atom_feed(entries[0]))  # newest first, as feeds list
    start(tmp_path, broker, agents, feeds, [server.url("/cap.atom")])
    show_content(observer)

    started = observer.wait_for(event_matcher(EVENTS, "alert.started", alert_id=FIRST_ID), 20)
    observer.wait_for(
        event_matcher(EVENTS, "playback.started", item_id=FIRST_ID, layout="alert_full")
    )
    assert started.json()["severity"] == "extreme"

    mark = observer.mark()
    server.routes["/cap.atom"] = Route(atom_feed(entries[1], entries[0]))
    updated = observer.wait_for(
        event_matcher(EVENTS, "alert.updated", alert_id=FIRST_ID), NEXT_POLL_S, start=mark
    )
    assert updated.json()["message_id"] == UPDATE_ID  # the same incident, the Update in force
    beat = heartbeat_where(observer, lambda b: b["alerts_active"] == [FIRST_ID], 5, mark)
    assert beat["now_showing"]["channel"] == "alert"
    assert events_of(observer, mark, "alert.started") == []  # not a second incident

    mark = observer.mark()
    server.routes["/cap.atom"] = Route(atom_feed(entries[2], entries[1], entries[0]))
    ended = observer.wait_for(
        event_matcher(EVENTS, "alert.ended", alert_id=FIRST_ID), NEXT_POLL_S, start=mark
    )
    assert ended.json()["reason"] == "cancel"
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="tin"), start=mark)
    beat = heartbeat_where(observer, lambda b: b["now_showing"]["item_id"] == "tin", 5, mark)
    assert beat["alerts_active"] == []


def test_an_incident_seen_on_mqtt_and_on_a_feed_is_shown_once(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess], feeds: Feeds
) -> None:
    """The same CAP message (one sender, identifier, sent) on both paths is one incident:
    one `alert.started`, whichever path brings it first."""
    storm = storm_documents()[STORM[0]]
    server = feeds.server
    server.routes["/cap/1.xml"] = Route(storm)
    server.routes["/cap.atom"] = Route(
        atom_feed(atom_link_entry("urn:storm:1", server.url("/cap/1.xml")))
    )
    start(tmp_path, broker, agents, feeds, [server.url("/cap.atom")])
    show_content(observer)
    observer.publish(f"{ROOT}/alert/city/bao-so-3", storm, retain=True)
    observer.wait_for(event_matcher(EVENTS, "alert.started", alert_id=FIRST_ID), 20)

    # The feed's copy has been fetched, handed on and handled (a heartbeat after it).
    server.wait_for(2, timeout=20)  # the feed, then its document
    fetched = observer.mark()
    heartbeat_where(observer, lambda b: True, 5, fetched)
    beat = heartbeat_where(observer, lambda b: True, 5, observer.mark())
    assert beat["alerts_active"] == [FIRST_ID]
    outcomes = events_of(observer, 0, "alert.started", "alert.updated", "content.rejected")
    assert [e["kind"] for e in outcomes] == ["alert.started"]
