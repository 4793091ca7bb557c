"""The outbox never holds what the broker cannot take, and alert events overtake a backlog.

Regression tests of issue 10 ("Reject amplification"; "alert events must overtake command
results in the outbox").
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.messages import MAX_EVENT_ERRORS, CommandResult, ContentRejected, ErrorDetail, Playlist
from agent.outbound import MAX_MESSAGE_BYTES
from agent.outbox import Outbox
from agent.validation import InvalidInput, decode

HB, EV, RES = "r/board/b/heartbeat", "r/board/b/events", "r/board/b/cmd/result"
OWN = (HB, EV, RES)


class FakeClient:
    """paho's publish as the outbox sees it: message ids, or None when it refuses."""

    def __init__(self) -> None:
        self.handed: list[tuple[int, str, bytes]] = []

    def publish(self, topic: str, payload: bytes) -> int | None:
        if "+" in topic or "#" in topic or not topic:
            raise ValueError("Publish topic cannot contain wildcards")  # what paho does
        self.handed.append((len(self.handed) + 1, topic, payload))
        return len(self.handed)

    def bodies(self) -> list[dict[str, Any]]:  # parsed JSON
        return [json.loads(p) for _, _, p in self.handed]


def body(n: int, size: int = 0, kind: str = "x") -> bytes:
    return json.dumps({"n": n, "kind": kind, "pad": "p" * size}).encode()


def test_a_message_larger_than_the_broker_takes_is_dropped_and_counted(tmp_path: Path) -> None:
    client = FakeClient()
    outbox = Outbox(tmp_path, client.publish, max_message_bytes=lambda: 1000)
    outbox.submit(EV, body(1, size=2000))  # offline: must not reach the spool either
    assert not outbox.spool.exists()
    outbox.link_up()
    outbox.submit(EV, body(2, size=2000))
    outbox.submit(EV, body(3))
    assert [b["n"] for b in client.bodies()] == [3]
    assert outbox.oversize == 2
    assert len(outbox) == 1


def test_the_hard_cap_applies_without_a_broker_limit(tmp_path: Path) -> None:
    client = FakeClient()
    outbox = Outbox(tmp_path, client.publish)
    outbox.link_up()
    outbox.submit(EV, body(1, size=MAX_MESSAGE_BYTES))
    assert client.handed == []
    assert outbox.oversize == 1


def test_a_spooled_message_over_a_limit_learned_later_is_never_handed_over(
    tmp_path: Path,
) -> None:
    limit = [10_000]
    outbox = Outbox(tmp_path, FakeClient().publish, max_message_bytes=lambda: limit[0])
    outbox.submit(EV, body(1, size=5000))
    outbox.submit(EV, body(2))
    client = FakeClient()
    outbox.publish = client.publish
    limit[0] = 1000  # the broker announced a smaller maximum packet size on reconnect
    outbox.link_up()
    assert [b["n"] for b in client.bodies()] == [2]
    assert outbox.oversize == 1
    outbox.delivered(client.handed[0][0])
    assert len(outbox) == 0
    assert not outbox.spool.exists()


def test_a_spooled_message_too_large_for_the_broker_is_dropped_at_start(tmp_path: Path) -> None:
    Outbox(tmp_path, FakeClient().publish).submit(EV, body(1, size=20_000))
    client = FakeClient()
    again = Outbox(tmp_path, client.publish, max_message_bytes=lambda: 10_000)
    again.link_up()
    assert client.handed == []
    assert again.oversize == 1
    assert len(again) == 0


def test_alert_events_overtake_a_backlog_and_each_class_keeps_its_order(tmp_path: Path) -> None:
    client = FakeClient()
    outbox = Outbox(tmp_path, client.publish, window=2)
    outbox.link_up()
    for n in range(10):  # a flood of command results: 2 in flight, 8 waiting
        outbox.submit(RES, body(n, kind="result"))
    outbox.submit(EV, body(100, kind="alert"), urgent=True)
    outbox.submit(EV, body(101, kind="alert"), urgent=True)
    while len(outbox):
        outbox.delivered(client.handed[len(client.handed) - len(outbox._by_mid)][0])
    order = [b["n"] for b in client.bodies()]
    assert order[:4] == [0, 1, 100, 101]  # the alerts go right after what was in flight
    assert [n for n in order if n < 100] == list(range(10))


def test_a_flood_of_alert_events_slows_heartbeats_but_never_silences_them(
    tmp_path: Path,
) -> None:
    """Thousands of retained alerts make thousands of alert events; the heartbeats behind
    them still go, one after each run of `window` alert events (the dashboard must not
    think the board dead)."""
    client = FakeClient()
    outbox = Outbox(tmp_path, client.publish, window=4)
    outbox.link_up()
    for n in range(200):
        outbox.submit(EV, body(1000 + n, kind="alert"), urgent=True)
    for n in range(3):
        outbox.submit(HB, body(n))
    while len(outbox):
        outbox.delivered(client.handed[len(client.handed) - len(outbox._by_mid)][0])
    order = [b["n"] for b in client.bodies()]
    beats = [order.index(n) for n in range(3)]
    assert beats == sorted(beats)  # in seq order
    assert beats[0] <= 4, beats
    assert all(b - a <= 5 for a, b in itertools.pairwise(beats)), beats
    assert [n for n in order if n >= 1000] == list(range(1000, 1200))  # alerts in order too


def test_urgent_messages_still_go_first_after_a_restart(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, FakeClient().publish)
    for n in range(3):
        outbox.submit(HB, body(n))
    outbox.submit(EV, body(100), urgent=True)
    outbox.submit(HB, body(3))
    client = FakeClient()
    Outbox(tmp_path, client.publish).link_up()
    assert [b["n"] for b in client.bodies()] == [100, 0, 1, 2, 3]


def test_the_bound_holds_while_online_too(tmp_path: Path) -> None:
    """A flood answered while the broker is slow to acknowledge: memory stays bounded."""
    client = FakeClient()
    outbox = Outbox(tmp_path, client.publish, bound=50, window=5)
    outbox.link_up()
    for n in range(1000):
        outbox.submit(RES, body(n))
    assert len(outbox) <= 50
    assert outbox.dropped == 1000 - len(outbox)


def test_a_full_outbox_drops_ordinary_messages_before_alert_events(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, FakeClient().publish, bound=10)
    outbox.submit(EV, body(100), urgent=True)
    for n in range(30):
        outbox.submit(RES, body(n))
    client = FakeClient()
    outbox.publish = client.publish
    outbox.link_up()
    assert client.bodies()[0]["n"] == 100


def test_messages_for_foreign_topics_are_never_published(tmp_path: Path) -> None:
    client = FakeClient()
    outbox = Outbox(tmp_path, client.publish, topics=OWN)
    outbox.link_up()
    outbox.submit("signage/v1/alert/city/injected", body(1))
    assert client.handed == []
    assert len(outbox) == 0


# --- events are bounded ----------------------------------------------------------------


def amplifying_payload(keys: int) -> bytes:
    """A playlist with thousands of unknown keys: each is a separate error (×6 in size)."""
    data: dict[str, object] = {
        "type": "playlist",
        "version": 1,
        "issued_at": "2026-11-27T07:30:00+07:00",
        "items": [],
    }
    for n in range(keys):
        data[f"k{n}"] = 0
    data["x" * 100_000] = 0  # and one key as long as a book: its path quotes it
    return json.dumps(data, separators=(",", ":")).encode()


def test_a_rejection_event_is_bounded_whatever_the_payload(tmp_path: Path) -> None:
    payload = amplifying_payload(20_000)
    try:
        decode(payload, Playlist)
    except InvalidInput as exc:
        errors = exc.errors
    else:
        raise AssertionError("the payload was accepted")
    event = ContentRejected(at=datetime.now(UTC), topic="t" * 5000, channel=None, errors=errors)
    size = len(event.model_dump_json())
    assert size < 16 * 1024, size
    assert len(event.errors) == MAX_EVENT_ERRORS
    assert event.errors[-1].message == f"… and {len(errors) - MAX_EVENT_ERRORS + 1} more"
    assert all(len(e.path) <= 200 and len(e.message) <= 300 for e in event.errors)
    assert "x" * 1000 not in event.model_dump_json()  # the payload is not echoed


def test_error_details_and_command_errors_are_cut_not_refused() -> None:
    detail = ErrorDetail(path="items.0.fields." + "k" * 10_000, message="m" * 10_000)
    assert len(detail.path) == 200
    assert detail.path.endswith("…")
    result = CommandResult(id="c", ok=False, error="invalid: " + "e" * 100_000)
    assert result.error is not None
    assert len(result.error) == 1000


def test_a_link_that_keeps_dropping_does_not_grow_the_spool(tmp_path: Path) -> None:
    """Each drop spools what is unacknowledged; acknowledged lines must not pile up in the
    file when the spool never empties between drops (a flaky cellular link)."""
    client = FakeClient()
    outbox = Outbox(tmp_path, client.publish, window=10)
    for n in range(100):
        outbox.submit(HB, body(n))  # offline: all spooled
    for _ in range(300):  # short connections: a few acknowledgements each, then a drop
        outbox.link_up()
        for mid in list(outbox._by_mid)[:5]:
            outbox.delivered(mid)
            outbox.submit(HB, body(len(client.handed)))  # life goes on: one more message
        outbox.link_down()
    lines = (tmp_path / "outbox.jsonl").read_bytes().count(b"\n")
    assert lines <= len(outbox) + 2 * 256, (lines, len(outbox))
    # Nothing waiting was lost from the file: a restart finds every waiting message (and
    # at most the not yet compacted acknowledged ones again: at least once, like QoS 1).
    again = Outbox(tmp_path, FakeClient().publish)
    waiting = {r.payload for r in outbox.records}
    assert waiting <= {r.payload for r in again.records}
