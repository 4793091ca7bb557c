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
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from agent.storage import (
    StateFileProblem,
    StorageHealth,
    atomic_delete,
    atomic_write,
    open_state_file,
    quarantine,
    read_state_file,
    set_aside,
)

log = logging.getLogger(__name__)

DEFAULT_BOUND = 10_000
DROP_FRACTION = 0.1  # drop in batches: rewriting the spool once per dropped message is too costly
# A spool holding more acknowledged lines than this (and than live ones) is rewritten.
COMPACT_AFTER = 256
# Hard cap on any message through the outbox (the MQTT packet: payload, topic and header).
# A heartbeat is ~1 KiB and events are bounded to a few KiB (agent/messages.py), so only a
# bug can reach it; brokers and cellular links refuse or choke on large packets.
MAX_MESSAGE_BYTES = 64 * 1024
PACKET_OVERHEAD_BYTES = 16  # fixed header, topic length, packet id, properties length
MAX_SPOOL_LINE_BYTES = 2 * MAX_MESSAGE_BYTES + 1024  # JSON escaping can double a payload
# A full outbox of heartbeats (10 000 × ~1.5 KiB) is ~15 MiB; a bigger spool is damage, and
# reading it from an SD card would hold up the first frame.
MAX_SPOOL_FILE_BYTES = 32 * 1024 * 1024

SPOOL_RETRY_S = 60.0  # after a failed append (full SD card): not at every message

# Hands a message to the MQTT client; returns its message id, or None when it could not.
Publish = Callable[[str, bytes], int | None]


def packet_bytes(topic: str, payload: bytes) -> int:
    """The size of the MQTT PUBLISH packet that carries `payload` on `topic`."""
    return len(payload) + len(topic.encode("utf-8", "surrogatepass")) + PACKET_OVERHEAD_BYTES


def topic_problem(topic: object, allowed: Collection[str] | None) -> str | None:
    """Why a message may not be published on `topic`, or None when it may."""
    if not isinstance(topic, str):
        return f"topic is {type(topic).__name__}, not text"
    if not topic:
        return "topic is empty"
    if "+" in topic or "#" in topic or "\0" in topic:
        return "topic contains a wildcard or NUL"
    if allowed is not None and topic not in allowed:
        return "topic is not one of the board's own outbound topics"
    return None


class _BadLine(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _spool_lines(spool: BinaryIO) -> Iterator[bytes]:
    """The non-empty lines of a spool; a line longer than any message is given as b"x"
    (damage), never kept whole in memory."""
    while line := spool.readline(MAX_SPOOL_LINE_BYTES):
        if not line.endswith(b"\n") and len(line) == MAX_SPOOL_LINE_BYTES:
            while (rest := spool.readline(MAX_SPOOL_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass  # skip the rest of the line
            yield b"x"  # not JSON: reported as damage
        elif line.strip():
            yield line


@dataclass(eq=False)
class Record:
    topic: str
    payload: bytes
    urgent: bool = False
    on_disk: bool = False
    mid: int | None = None  # set once handed to the MQTT client


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
        self.spool = directory / "outbox.jsonl"
        self._dropped_file = directory / "outbox.dropped"
        self.publish = publish
        self.bound = bound
        self.window = window  # at most this many handed over and not yet acknowledged
        self.topics = frozenset(topics) if topics is not None else None
        self.max_message_bytes = max_message_bytes
        self.health = health or StorageHealth()
        self.online = False
        self._next_key = 0
        # Not yet acknowledged, oldest first (dicts keep insertion order), per class.
        self._urgent: dict[int, Record] = {}
        self._urgent_run = 0  # urgent hand-overs since the last ordinary one
        self._normal: dict[int, Record] = {}
        self._by_mid: dict[int, tuple[bool, int]] = {}
        self._behind = False  # an append failed: some older records are only in memory
        self._retry_at = 0.0  # when to try the spool again after a failed append
        self.oversize = 0  # dropped because too large for the broker (since start)
        self.quarantined = 0  # spool lines kept aside as damaged (since start)
        self.highest_seq: int | None = None  # of the heartbeats found in the spool
        self.dropped = self._load_dropped()
        for record in self._load():
            self._add(record)
        self._spooled = sum(r.on_disk for r in self.records)  # on disk, not yet acknowledged
        self._delivered_on_disk = 0  # lines in the spool file already acknowledged

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

    # --- disk ---------------------------------------------------------------------------

    def _load(self) -> list[Record]:
        try:
            fd = open_state_file(self.spool)
        except StateFileProblem as problem:
            set_aside(self.spool, problem.reason, "messages in it are not sent", self.health)
            return []
        if fd is None:
            return []
        try:
            size = os.fstat(fd).st_size
        except OSError:
            size = 0
        if size > MAX_SPOOL_FILE_BYTES:  # reading it would hold up the first frame
            os.close(fd)
            reason = f"is {size} bytes, more than an outbox ever holds ({MAX_SPOOL_FILE_BYTES})"
            set_aside(self.spool, reason, "messages in it are not sent", self.health)
            return []
        kept: deque[Record] = deque(maxlen=self.bound)
        bad: list[str] = []
        total = 0
        try:
            with os.fdopen(fd, "rb") as spool:
                for line in _spool_lines(spool):
                    try:
                        kept.append(self._parse_line(line))
                        total += 1
                    except _BadLine as damage:
                        if damage.reason:
                            bad.append(damage.reason)
        except OSError as exc:
            set_aside(
                self.spool,
                f"cannot be read ({exc.strerror or exc})",
                f"{len(kept)} messages read before the error are sent",
                self.health,
            )
            return list(kept)
        records = list(kept)
        # Dropped lines (bound, size) must not come back at the next start.
        rewrite = total > len(records) or self.oversize > 0
        if total > len(records):
            self.dropped += total - len(records)
            log.warning("outbox: %d spooled messages above the bound dropped", total - len(records))
            self._save_dropped()
        if bad:
            self._quarantine_lines(bad, records)
        elif rewrite:
            self._save_spool(records)
        if records:
            log.info("outbox: %d messages from before the restart", len(records))
        return records

    def _parse_line(self, line: bytes) -> Record:
        """A spooled message, or `_BadLine` saying why the line is not one."""
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):
            raise _BadLine("not JSON (a power cut mid-write?)") from None
        if not isinstance(entry, dict):
            raise _BadLine("not a JSON object")
        topic, text, urgent = entry.get("topic"), entry.get("payload"), entry.get("urgent", False)
        problem = topic_problem(topic, self.topics)
        if problem is not None:
            raise _BadLine(problem)
        if not isinstance(topic, str) or not isinstance(text, str) or type(urgent) is not bool:
            raise _BadLine("payload is not text")
        try:
            payload = text.encode("utf-8")
            body = json.loads(text)
        except (ValueError, RecursionError):  # UnicodeEncodeError: a lone surrogate
            raise _BadLine("payload is not a JSON document") from None
        if not isinstance(body, dict):
            raise _BadLine("payload is not a JSON object")
        if self._too_large(topic, payload):  # not damage: counted as oversize, not kept
            raise _BadLine("")
        seq = body.get("seq")
        if body.get("type") == "heartbeat" and type(seq) is int:
            self.highest_seq = seq if self.highest_seq is None else max(self.highest_seq, seq)
        return Record(topic, payload, urgent=urgent, on_disk=True)

    def _quarantine_lines(self, bad: list[str], good: list[Record]) -> None:
        """Keep the damaged spool aside (whole, for a post-mortem); the good lines go on."""
        self.quarantined += len(bad)
        reasons = sorted(set(bad))
        summary = "; ".join(reasons[:5]) + (
            f"; and {len(reasons) - 5} more" if len(reasons) > 5 else ""
        )
        try:
            moved = quarantine(self.spool)
            done = f"the spool was moved aside as {moved.name}"
        except OSError as exc:
            done = f"the spool could not be moved aside ({exc.strerror or exc})"
        self._save_spool(good)
        self.health.problem(
            f"damaged:{self.spool}",
            f"state file {self.spool} has {len(bad)} damaged lines ({summary}): never sent; "
            f"{done}; {len(good)} good messages are sent",
        )

    def _save_spool(self, records: list[Record]) -> None:
        """The spool holds exactly `records` (after a clean-up at load)."""
        try:
            if records:
                atomic_write(self.spool, b"".join(self._line(r) for r in records))
            else:
                atomic_delete(self.spool)
        except OSError as exc:
            log.error("cannot rewrite the outbox %s: %s", self.spool, exc)
            for record in records:
                record.on_disk = False  # written again at the next chance
            self._behind = True

    def _load_dropped(self) -> int:
        try:
            raw = read_state_file(self._dropped_file, 64)
        except StateFileProblem as problem:
            set_aside(self._dropped_file, problem.reason, "the drop count starts at 0", self.health)
            return 0
        if raw is None:
            return 0
        try:
            value = int(raw.decode("ascii").strip())
            if value < 0:
                raise ValueError(value)
            return value
        except ValueError:
            set_aside(
                self._dropped_file,
                "does not hold a count",
                "the drop count starts at 0",
                self.health,
            )
            return 0

    @staticmethod
    def _line(record: Record) -> bytes:
        entry: dict[str, Any] = {"topic": record.topic, "payload": record.payload.decode()}
        if record.urgent:
            entry["urgent"] = True
        return json.dumps(entry, ensure_ascii=False).encode() + b"\n"

    def _append(self, records: list[Record]) -> None:
        fresh = [r for r in records if not r.on_disk]
        if not fresh:
            return
        data = b"".join(self._line(r) for r in fresh)
        try:
            self.spool.parent.mkdir(parents=True, exist_ok=True)
            with self.spool.open("ab") as spool:
                start = spool.tell()
                try:
                    spool.write(data)
                    spool.flush()
                    os.fsync(spool.fileno())
                except OSError:
                    # A full disk writes part of a line: take it back, or the next line
                    # appended would be glued to it and lost too.
                    spool.truncate(start)
                    raise
        except OSError as exc:
            self._behind = True
            self._retry_at = time.monotonic() + SPOOL_RETRY_S
            self.health.problem(
                f"write:{self.spool}",
                f"cannot write the outbox {self.spool} ({exc.strerror or exc}): messages wait "
                "in memory and are lost if the agent stops before the broker is back",
            )
            return
        self._behind = False
        self.health.resolved(f"write:{self.spool}")
        for record in fresh:
            record.on_disk = True
        self._spooled += len(fresh)

    def _rewrite(self) -> None:
        on_disk = [r for r in self.records if r.on_disk]
        self._spooled = len(on_disk)
        self._delivered_on_disk = 0
        try:
            if on_disk:
                atomic_write(self.spool, b"".join(self._line(r) for r in on_disk))
            else:
                atomic_delete(self.spool)
        except OSError as exc:
            self.health.problem(
                f"write:{self.spool}",
                f"cannot rewrite the outbox {self.spool} ({exc.strerror or exc})",
            )

    # --- flow ---------------------------------------------------------------------------

    def submit(self, topic: str, payload: bytes, *, urgent: bool = False) -> None:
        """Queue a message for the broker; `urgent` ones overtake the others' backlog."""
        problem = topic_problem(topic, self.topics)
        if problem is not None:  # a bug: say so loudly, never publish it
            log.error("outbox: not sending a message to %r: %s", topic[:200], problem)
            return
        if self._too_large(topic, payload):
            return
        record = Record(topic, payload, urgent=urgent)
        self._add(record)
        if self.online:
            self._hand_over_waiting()
        elif not self._behind:
            self._append([record])
        elif time.monotonic() >= self._retry_at:  # a failing disk is tried now and then
            self._append(self.records)
        self._enforce_bound()

    def _too_large(self, topic: str, payload: bytes) -> bool:
        size, limit = packet_bytes(topic, payload), self.max_message_bytes()
        if size <= limit:
            return False
        self.oversize += 1
        log.error(
            "outbox: dropped a %d-byte message for %s: the broker takes at most %d bytes "
            "(%d dropped so far, heartbeat mqtt.outbox_oversize)",
            size,
            topic,
            limit,
            self.oversize,
        )
        return True

    def _hand_over_waiting(self) -> None:
        """Give the client the oldest waiting messages, up to the window, urgent first."""
        budget = self.window - len(self._by_mid)
        too_large: list[tuple[bool, int]] = []
        for key, record in self._hand_over_order():
            if budget <= 0:
                break
            if record.mid is not None or (record.urgent, key) in too_large:
                continue
            if self._too_large(record.topic, record.payload):  # the broker's limit shrank
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
        self._append(self.records)

    def delivered(self, mid: int) -> None:
        found = self._by_mid.pop(mid, None)
        if found is None:
            return
        urgent, key = found
        record = self._queue(urgent).pop(key)
        if record.on_disk:
            self._spooled -= 1
            self._delivered_on_disk += 1
            # Everything spooled has arrived: the spool goes. A link that keeps dropping
            # before that happens would leave delivered lines piling up in the file (each
            # drop appends what is unacknowledged): compact it once they outnumber the rest.
            if self._spooled == 0 or self._delivered_on_disk > max(COMPACT_AFTER, self._spooled):
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
        self.dropped += len(waiting)
        log.warning("outbox full: dropped the %d oldest messages", len(waiting))
        if spooled:
            self._rewrite()
        self._save_dropped()

    def _save_dropped(self) -> None:
        try:
            atomic_write(self._dropped_file, f"{self.dropped}\n".encode())
        except OSError as exc:
            self.health.problem(
                f"write:{self._dropped_file}",
                f"cannot record the outbox drop count in {self._dropped_file} "
                f"({exc.strerror or exc})",
            )
        else:
            self.health.resolved(f"write:{self._dropped_file}")

    def __len__(self) -> int:
        return len(self._urgent) + len(self._normal)
