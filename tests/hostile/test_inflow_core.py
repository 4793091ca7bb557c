"""The core under inbound floods, in-process with an injected clock (no broker): handling
order of a backlog, rate-limited rejections with their summary, retained junk."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.alerts import AlertBook, priority_key
from agent.core import Agent
from agent.link_messages import Received
from agent.messages import HEARTBEAT_ALERT_IDS, Alert
from agent.output import HeadlessOutput
from agent.rejections import RejectionLimiter
from tests.support import COMMUNE_TOPIC, Broker, playlist, text_item
from tests.test_core import FakeClock, alert_payload, events, make_config

CMD = "signage/v1/board/hn-01/cmd"
ALERT_TOPIC = "signage/v1/alert/city/bao-so-3"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def agent(tmp_path: Path, clock: FakeClock) -> Iterator[Agent]:
    made = Agent(make_config(tmp_path), clock=clock, output=HeadlessOutput((320, 180)))
    made.link = None  # in-process: events go to the log only
    yield made
    made.fetcher.stop()
    made.seq.close()


def event_kinds(caplog: pytest.LogCaptureFixture) -> list[str]:
    kinds = []
    for record in caplog.records:
        message = record.getMessage()
        if message.startswith("event "):
            kinds.append(json.loads(message.removeprefix("event "))["kind"])
    return kinds


def test_backlog_is_handled_alerts_first_then_content_then_commands(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for n in range(3):
        agent.queue.put(Received(CMD, b"{junk %d" % n, retained=False))
    agent.queue.put(Received(COMMUNE_TOPIC, playlist(1, [text_item("a", "A")]), retained=False))
    agent.queue.put(Received(COMMUNE_TOPIC, playlist(2, [text_item("b", "B")]), retained=False))
    agent.queue.put(Received(ALERT_TOPIC, alert_payload(), retained=False))
    agent._wait_and_handle()
    while any(agent._backlog):  # a slow machine may need more than one turn's budget
        agent._wait_and_handle()
    kinds = [k for k in event_kinds(caplog) if k != "playback.started"]
    assert kinds[0] == "alert.started", kinds
    # Per-topic order is kept: version 1, then 2 (which would be ignored the other way).
    assert kinds[1:3] == ["content.accepted", "content.accepted"], kinds
    assert kinds[3:] == ["content.rejected"] * 3, kinds
    assert agent.playlists["commune"].version == 2


def test_a_junk_flood_gives_a_few_rejections_and_one_summary(
    agent: Agent, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    flood = 10_000
    started = time.perf_counter()
    for n in range(flood):
        agent.handle(Received(CMD, b"junk %d" % n, retained=False))
        if n % 1000 == 0:
            clock.advance(0.1)  # the flood lasts a second
    spent = time.perf_counter() - started
    assert spent < 10, f"{spent:.1f} s for {flood} junk messages: rejecting must be cheap"
    rejected = events(caplog, "content.rejected")
    assert 1 <= len(rejected) <= 60
    agent.tick()
    assert events(caplog, "input.suppressed") == []  # the burst may not be over yet
    clock.advance(6)
    agent.tick()
    (summary,) = events(caplog, "input.suppressed")
    assert summary["topic"] == CMD
    assert summary["count"] + len(rejected) == flood, "every junk message is accounted for"
    assert summary["first_at"] <= summary["last_at"]
    assert agent.errors_total == flood
    # A later, lone bad message is reported again at once.
    clock.advance(5)
    agent.handle(Received(CMD, b"one more", retained=False))
    assert len(events(caplog, "content.rejected")) == len(rejected) + 1


def test_floods_over_many_alert_ids_are_one_flood(
    agent: Agent, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for n in range(500):
        agent.handle(Received(f"signage/v1/alert/city/x{n}", b"{", retained=False))
    clock.advance(6)
    agent.tick()
    (summary,) = events(caplog, "input.suppressed")
    assert summary["topic"] == "signage/v1/alert/city/+"
    assert len(events(caplog, "content.rejected")) <= 60
    assert summary["count"] + len(events(caplog, "content.rejected")) == 500


def test_retained_command_is_not_run_and_reported_once(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    stale = json.dumps(
        {"type": "command", "id": "off-1", "command": "display_power", "args": {"state": "off"}}
    ).encode()
    for _ in range(3):  # the broker replays it at every reconnect
        agent.handle(Received(CMD, stale, retained=True))
    assert agent.screen.power_on
    (rejected,) = events(caplog, "content.rejected")
    assert "retained command ignored" in rejected["errors"][0]["message"]
    # The same command sent live runs.
    agent.handle(Received(CMD, stale, retained=False))
    assert not agent.screen.power_on


def test_retained_bad_playlist_is_rejected_once_but_live_repeats_are_reported(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bad = b'{"type": "playlist", "version": "7"}'
    agent.handle(Received(COMMUNE_TOPIC, bad, retained=False))  # published while connected
    for _ in range(3):
        agent.handle(Received(COMMUNE_TOPIC, bad, retained=True))  # replays at reconnects
    assert len(events(caplog, "content.rejected")) == 1
    agent.handle(Received(COMMUNE_TOPIC, bad, retained=False))  # sent again on purpose
    assert len(events(caplog, "content.rejected")) == 2
    other = b'{"type": "playlist", "version": "8"}'
    agent.handle(Received(COMMUNE_TOPIC, other, retained=True))
    assert len(events(caplog, "content.rejected")) == 3


def test_a_redelivered_bad_message_is_not_reported_again(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    """The link dropped before our acknowledgement arrived: the broker sends it again."""
    caplog.set_level(logging.INFO)
    bad = b'{"type": "playlist", "version": "7"}'
    agent.handle(Received(COMMUNE_TOPIC, bad, retained=False, qos=1))
    agent.handle(Received(COMMUNE_TOPIC, bad, retained=False, qos=1, duplicate=True))
    assert len(events(caplog, "content.rejected")) == 1


def test_an_empty_message_on_the_command_topic_is_not_an_error(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    agent.handle(Received(CMD, b"", retained=False))  # how a retained command is cleared
    assert events(caplog, "content.rejected") == []
    assert agent.errors_total == 0


def test_thousands_of_active_alerts_cost_each_alert_and_each_tick_little(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Alert handling must not scan every active alert per alert (O(n²) for a burst)."""
    # On tmpfs (a real file system without the SD card's fsync cost) what is left to
    # measure is the agent's own work per alert.
    shm = Path("/dev/shm")
    state = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp_path
    agent = Agent(make_config(state), clock=clock, output=HeadlessOutput((320, 180)))
    agent.link, agent.outbox = None, None
    total = 3000
    try:

        def burst(first: int, count: int) -> float:
            started = time.perf_counter()
            for n in range(first, first + count):
                topic = f"signage/v1/alert/city/a{n}"
                payload = alert_payload(id=f"a{n}", severity="minor" if n % 50 else "severe")
                agent.handle(Received(topic, payload, retained=True))
            return time.perf_counter() - started

        early = burst(0, 200)
        burst(200, total - 400)
        late = burst(total - 200, 200)
        assert len(agent.alert_desk.book.active()) == total
        # An alert with thousands active costs about what it costs with none (the scan
        # per alert made it 20 times more).
        assert late < 3 * early + 0.1, (early, late)
        started = time.perf_counter()
        for _ in range(20):
            clock.advance(1)
            agent.tick()
        per_tick = (time.perf_counter() - started) / 20
        assert per_tick < 0.1, f"{per_tick * 1000:.0f} ms per tick with {total} alerts"
        beat = agent.heartbeat()
        assert beat.alerts_active_count == total
        assert len(beat.alerts_active) == HEARTBEAT_ALERT_IDS  # a heartbeat stays small
    finally:
        agent.fetcher.stop()
        agent.seq.close()
        if state != tmp_path:
            shutil.rmtree(state, ignore_errors=True)


ALERT_OPS = st.lists(
    st.tuples(
        st.sampled_from(["alert", "update", "cancel", "delete", "expire"]),
        st.integers(0, 5),  # which alert
        st.integers(1, 120),  # minutes: sent offset, expiry, or time passing
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(ALERT_OPS)
def test_the_alert_books_cached_order_and_expiry_match_a_fresh_computation(
    ops: list[tuple[str, int, int]],
) -> None:
    """The book keeps its sorted list and soonest expiry between changes (a tick with
    thousands of active alerts must not re-sort them): they must always be right."""
    book = AlertBook()
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    sent = 0
    for op, which, minutes in ops:
        alert_id = f"a{which}"
        if op == "delete":
            book.delete(alert_id)
        elif op == "expire":
            now += timedelta(minutes=minutes)
            book.expire(now)
        else:
            sent += 1
            data = json.loads(alert_payload(id=alert_id))
            data.update(
                msg_type=op,
                severity=["extreme", "severe", "moderate", "minor"][minutes % 4],
                sent=(now + timedelta(seconds=sent)).isoformat(),
                expires=(now + timedelta(minutes=minutes)).isoformat(),
            )
            book.receive(Alert.model_validate_json(json.dumps(data)), now)
        fresh = sorted(book._active.values(), key=priority_key)
        assert book.active() == fresh
        assert book.next_expiry() == min((a.expires for a in fresh), default=None)


def test_the_flood_limit_never_loses_a_count_even_with_too_many_sources() -> None:
    limiter = RejectionLimiter(burst=1, rate=0.1)
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    admitted = sum(limiter.admit(f"topic/{n % 200}", 0.0, now) for n in range(1000))
    reports = limiter.due(100.0)
    assert admitted + sum(r.count for r in reports) == 1000
    assert limiter.due(200.0) == []
    assert limiter.pending() == []


def _cache_alerts(state: Path, count: int) -> None:
    """Alerts kept on disk by an earlier run (what a retained burst leaves behind)."""
    directory = state / "alerts"
    directory.mkdir(parents=True)
    for n in range(count):
        alert = Alert.model_validate_json(alert_payload(id=f"a{n}", expires="2099-01-01T00:00:00Z"))
        (directory / f"a{n}.json").write_text(alert.model_dump_json())


def test_alerts_restored_at_start_are_not_written_again(tmp_path: Path, clock: FakeClock) -> None:
    _cache_alerts(tmp_path / "state", 50)
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "state" / "alerts").iterdir()}
    agent = Agent(make_config(tmp_path), clock=clock, output=HeadlessOutput((320, 180)))
    agent.link = None
    try:
        agent.start()
        assert len(agent.alert_desk.book.active()) == 50
        after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "state" / "alerts").iterdir()}
        assert after == before, "restored alerts were written again (an fsync each)"
    finally:
        agent.fetcher.stop()
        agent.seq.close()


def test_events_of_restored_alerts_wait_for_the_broker_instead_of_the_spool(
    tmp_path: Path, broker: Broker
) -> None:
    """Thousands of restored alerts spooled one fsync each held the connection back."""
    _cache_alerts(tmp_path / "state", 30)
    config = make_config(tmp_path, mqtt={"host": "127.0.0.1", "port": broker.port})
    agent = Agent(config, output=HeadlessOutput((320, 180)))
    assert agent.outbox is not None
    try:
        agent.start()
        spool = tmp_path / "state" / "outbox.jsonl"
        spooled = spool.read_text() if spool.exists() else ""
        assert "alert.started" not in spooled
        deadline = time.monotonic() + 10
        while not (agent.link and agent.link.connected and len(agent.outbox) == 0):
            agent._wait_and_handle()
            assert time.monotonic() < deadline, "not connected, or the events not delivered"
        assert agent._restored == []
    finally:
        agent._shutdown()
        agent.fetcher.stop()
