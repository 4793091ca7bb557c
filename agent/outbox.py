"""Heartbeats, events and command results that must reach the dashboard, even across
broker outages and agent restarts (CONTRACT §2).

While the broker is reachable a message is handed to the MQTT client at once and kept in
memory until the broker acknowledges it: no disk write per heartbeat (SD cards wear
out). While it is not, messages are appended to a spool file on disk (fsynced: they must
survive a power cut) and handed over after reconnecting. Messages that were handed over
but not acknowledged when the link dropped are written to the spool too, so a restart
cannot lose them (the price is an occasional duplicate: delivery is at least once, and
heartbeats carry `seq` to tell).

Two classes of messages: *urgent* ones (alert events) overtake a backlog of the others
(command results after a flood, heartbeats after an outage). Each class keeps its own
order, oldest first; heartbeats are all in the ordinary class, so they go in `seq` order.
After a run of `window` urgent hand-overs, the oldest ordinary message goes next: a flood
of alert events (thousands of retained alerts after a resubscribe) slows heartbeats down
but never silences them, for a board whose heartbeats stop looks dead to the dashboard.

What the outbox never does:

- hold a message the broker cannot take: a message larger than `max_message_bytes()`
  (the hard cap `MAX_MESSAGE_BYTES`, or less when the broker announced a smaller maximum
  packet size) is dropped when submitted or before it is handed over, counted
  (`oversize`) and logged: one message too large must not cost the connection;
- publish anywhere but the board's own outbound topics (`topics`): the spool is a file a
  stranger may have written;
- stop the agent over a damaged spool: every line is checked when read; bad lines are
  kept aside in `outbox.jsonl.bad-<time>`, counted (`quarantined`) and reported once.

The outbox is bounded: when full, the oldest messages not yet handed over are dropped
(ordinary ones before urgent ones), counted (`dropped`, kept in `outbox.dropped`), and
the counts are reported in heartbeats.

This module owns the order in memory (the window, urgent first, the bound); the file is
the spool's (agent/outbox_spool.py), the size and topic rules are agent/outbound.py's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from agent.outbound import MAX_MESSAGE_BYTES, SizeLimit, topic_problem
from agent.outbox_spool import Record, Spool
from agent.storage import StorageHealth

log = logging.getLogger(__name__)

DEFAULT_BOUND = 10_000
DROP_FRACTION = 0.1  # drop in batches: rewriting the spool once per dropped message is too costly

# Hands a message to the MQTT client; returns its message id, or None when it could not.
Publish = Callable[[str, bytes], int | None]


class Outbox:
    def __init__(
        self,
        directory: Path,
        publish: Publish,
        *,
        bound: int = DEFAULT_BOUND,
        window: int = 200,
        topics: Collection[str] | None = None,
        max_message_bytes: Callable[[], int] = lambda: MAX_MESSAGE_BYTES,
        health: StorageHealth | None = None,
    ) -> None:
        self.publish = publish
        self.bound = bound
        self.window = window  # at most this many handed over and not yet acknowledged
        self.topics = frozenset(topics) if topics is not None else None
        self.health = health or StorageHealth()
        self._size = SizeLimit(max_message_bytes)
        self.online = False
        self._next_key = 0
        # Not yet acknowledged, oldest first (dicts keep insertion order), per class.
        self._urgent: dict[int, Record] = {}
        self._urgent_run = 0  # urgent hand-overs since the last ordinary one
        self._normal: dict[int, Record] = {}
        self._by_mid: dict[int, tuple[bool, int]] = {}
        self._disk = Spool(
            directory,
            bound=bound,
            topics=self.topics,
            too_large=self._size.too_large,
            health=self.health,
        )
        for record in self._disk.load():
            self._add(record)

    # --- counts for heartbeats, and the file (tests) -----------------------------------

    @property
    def spool(self) -> Path:
        return self._disk.path

    @property
    def oversize(self) -> int:
        """Dropped because too large for the broker (since start)."""
        return self._size.oversize

    @property
    def quarantined(self) -> int:
        """Spool lines kept aside as damaged (since start)."""
        return self._disk.quarantined

    @property
    def highest_seq(self) -> int | None:
        """Of the heartbeats found in the spool at start."""
        return self._disk.highest_seq

    @property
    def dropped(self) -> int:
        """Dropped because the outbox was full (kept across restarts)."""
        return self._disk.dropped

    def _queue(self, urgent: bool) -> dict[int, Record]:
        return self._urgent if urgent else self._normal

    def _add(self, record: Record) -> None:
        self._queue(record.urgent)[self._next_key] = record
        self._next_key += 1

    def _in_order(self) -> Iterator[tuple[int, Record]]:
        """Every record, in the order they are handed over: urgent ones first."""
        yield from self._urgent.items()
        yield from self._normal.items()

    def _hand_over_order(self) -> Iterator[tuple[int, Record]]:
        """The order of hand-over: urgent first, but after a long run of urgent ones the
        oldest ordinary message (see the module's docstring). The head may come twice:
        once handed over, it is skipped the second time."""
        if self._urgent_run >= self.window:
            head = next(((k, r) for k, r in self._normal.items() if r.mid is None), None)
            if head is not None:
                yield head
        yield from self._in_order()

    @property
    def records(self) -> list[Record]:
        return [record for _, record in self._in_order()]

    # --- flow ---------------------------------------------------------------------------

    def submit(self, topic: str, payload: bytes, *, urgent: bool = False) -> None:
        """Queue a message for the broker; `urgent` ones overtake the others' backlog."""
        problem = topic_problem(topic, self.topics)
        if problem is not None:  # a bug: say so loudly, never publish it
            log.error("outbox: not sending a message to %r: %s", topic[:200], problem)
            return
        if self._size.too_large(topic, payload):
            return
        record = Record(topic, payload, urgent=urgent)
        self._add(record)
        if self.online:
            self._hand_over_waiting()
        elif not self._disk.behind:
            self._disk.append([record])
        elif time.monotonic() >= self._disk.retry_at:  # a failing disk is tried now and then
            self._disk.append(self.records)
        self._enforce_bound()

    def _hand_over_waiting(self) -> None:
        """Give the client the oldest waiting messages, up to the window, urgent first."""
        budget = self.window - len(self._by_mid)
        too_large: list[tuple[bool, int]] = []
        for key, record in self._hand_over_order():
            if budget <= 0:
                break
            if record.mid is not None or (record.urgent, key) in too_large:
                continue
            if self._size.too_large(record.topic, record.payload):  # the broker's limit shrank
                too_large.append((record.urgent, key))
                continue
            mid = self.publish(record.topic, record.payload)
            if mid is None:
                break  # the client refused (link just dropped): try again later
            record.mid = mid
            self._by_mid[mid] = (record.urgent, key)
            self._urgent_run = self._urgent_run + 1 if record.urgent else 0
            budget -= 1
        if too_large:
            spooled = [self._queue(urgent).pop(key).on_disk for urgent, key in too_large]
            if any(spooled):
                self._rewrite()
            if self.online:
                self._hand_over_waiting()  # the budget they did not use

    def link_up(self) -> None:
        """Hand over everything waiting, oldest first (urgent ones first)."""
        self.online = True
        self._hand_over_waiting()

    def link_down(self) -> None:
        """Unacknowledged messages go to disk: the client keeps them only in memory."""
        self.online = False
        self._disk.append(self.records)

    def delivered(self, mid: int) -> None:
        found = self._by_mid.pop(mid, None)
        if found is None:
            return
        urgent, key = found
        record = self._queue(urgent).pop(key)
        if record.on_disk and self._disk.acknowledged():
            self._rewrite()
        if self.online:
            self._hand_over_waiting()

    def _enforce_bound(self) -> None:
        if len(self) <= self.bound:
            return
        excess = len(self) - self.bound + max(1, int(self.bound * DROP_FRACTION))
        # Ordinary messages go before urgent ones; oldest first within each.
        waiting = [
            (urgent, key)
            for urgent in (False, True)
            for key, r in self._queue(urgent).items()
            if r.mid is None
        ][:excess]
        spooled = False
        for urgent, key in waiting:
            spooled = self._queue(urgent).pop(key).on_disk or spooled
        self._disk.dropped += len(waiting)
        log.warning("outbox full: dropped the %d oldest messages", len(waiting))
        if spooled:
            self._rewrite()
        self._disk.save_dropped()

    def _rewrite(self) -> None:
        """The spool holds what is still on disk and unacknowledged."""
        self._disk.rewrite([r for r in self.records if r.on_disk])

    def __len__(self) -> int:
        return len(self._urgent) + len(self._normal)
