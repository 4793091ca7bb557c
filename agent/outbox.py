"""Heartbeats, events and command results that must reach the dashboard, even across
broker outages and agent restarts (CONTRACT §2).

While the broker is reachable a message is handed to the MQTT client at once and kept in
memory until the broker acknowledges it: no disk write per heartbeat (SD cards wear
out). While it is not, messages are appended to a spool file on disk (fsynced: they must
survive a power cut) and handed over, oldest first, after reconnecting. Messages that
were handed over but not acknowledged when the link dropped are written to the spool
too, so a restart cannot lose them (the price is an occasional duplicate: delivery is at
least once, and heartbeats carry `seq` to tell).

The outbox is bounded: when full, the oldest messages not yet handed over are dropped and
counted, and the count is reported in heartbeats.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.storage import atomic_delete, atomic_write

log = logging.getLogger(__name__)

DEFAULT_BOUND = 10_000
DROP_FRACTION = 0.1  # drop in batches: rewriting the spool once per dropped message is too costly

# Hands a message to the MQTT client; returns its message id, or None when it could not.
Publish = Callable[[str, bytes], int | None]


@dataclass(eq=False)
class Record:
    topic: str
    payload: bytes
    on_disk: bool = False
    mid: int | None = None  # set once handed to the MQTT client


class Outbox:
    def __init__(
        self, directory: Path, publish: Publish, *, bound: int = DEFAULT_BOUND, window: int = 200
    ) -> None:
        self.spool = directory / "outbox.jsonl"
        self._dropped_file = directory / "outbox.dropped"
        self.publish = publish
        self.bound = bound
        self.window = window  # at most this many handed over and not yet acknowledged
        self.online = False
        self._next_key = 0
        # Not yet acknowledged, oldest first (dicts keep insertion order).
        self.records: dict[int, Record] = {}
        self._by_mid: dict[int, int] = {}
        for record in self._load():
            self._add(record)
        self._spooled = len(self.records)  # records on disk, not yet acknowledged
        self.dropped = self._load_dropped()

    def _add(self, record: Record) -> None:
        self.records[self._next_key] = record
        self._next_key += 1

    # --- disk ---------------------------------------------------------------------------

    def _load(self) -> list[Record]:
        records = []
        try:
            lines = self.spool.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.error("outbox %s unreadable: %s", self.spool, exc)
            return []
        for line in lines:
            try:
                entry = json.loads(line)
                records.append(Record(entry["topic"], entry["payload"].encode(), on_disk=True))
            except (ValueError, KeyError, TypeError, AttributeError):
                log.warning("skipping a damaged outbox line (a power cut mid-write?)")
        if records:
            log.info("outbox: %d messages from before the restart", len(records))
        return records

    def _load_dropped(self) -> int:
        try:
            return int(self._dropped_file.read_text().strip())
        except (OSError, ValueError):
            return 0

    @staticmethod
    def _line(record: Record) -> bytes:
        entry = {"topic": record.topic, "payload": record.payload.decode()}
        return json.dumps(entry, ensure_ascii=False).encode() + b"\n"

    def _append(self, records: list[Record]) -> None:
        fresh = [r for r in records if not r.on_disk]
        if not fresh:
            return
        self.spool.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(self.spool, "ab") as spool:
                spool.write(b"".join(self._line(r) for r in fresh))
                spool.flush()
                os.fsync(spool.fileno())
        except OSError as exc:
            log.error("cannot write the outbox %s: %s", self.spool, exc)
            return
        for record in fresh:
            record.on_disk = True
        self._spooled += len(fresh)

    def _rewrite(self) -> None:
        on_disk = [r for r in self.records.values() if r.on_disk]
        self._spooled = len(on_disk)
        try:
            if on_disk:
                atomic_write(self.spool, b"".join(self._line(r) for r in on_disk))
            else:
                atomic_delete(self.spool)
        except OSError as exc:
            log.error("cannot rewrite the outbox %s: %s", self.spool, exc)

    # --- flow ---------------------------------------------------------------------------

    def submit(self, topic: str, payload: bytes) -> None:
        record = Record(topic, payload)
        self._add(record)
        if self.online:
            self._hand_over_waiting()
        else:
            self._append([record])
            self._enforce_bound()

    def _hand_over_waiting(self) -> None:
        """Give the client the oldest waiting messages, up to the window, in order."""
        budget = self.window - len(self._by_mid)
        for key, record in self.records.items():
            if budget <= 0:
                return
            if record.mid is not None:
                continue
            mid = self.publish(record.topic, record.payload)
            if mid is None:
                return  # the client refused (link just dropped): try again later
            record.mid = mid
            self._by_mid[mid] = key
            budget -= 1

    def link_up(self) -> None:
        """Hand over everything waiting, oldest first."""
        self.online = True
        self._hand_over_waiting()

    def link_down(self) -> None:
        """Unacknowledged messages go to disk: the client keeps them only in memory."""
        self.online = False
        self._append(list(self.records.values()))

    def delivered(self, mid: int) -> None:
        key = self._by_mid.pop(mid, None)
        if key is None:
            return
        record = self.records.pop(key)
        if record.on_disk:
            self._spooled -= 1
            if self._spooled == 0:
                self._rewrite()  # everything spooled has arrived: the spool goes
        if self.online:
            self._hand_over_waiting()

    def _enforce_bound(self) -> None:
        if len(self.records) <= self.bound:
            return
        excess = len(self.records) - self.bound + max(1, int(self.bound * DROP_FRACTION))
        waiting = [key for key, r in self.records.items() if r.mid is None][:excess]
        for key in waiting:
            del self.records[key]
        self.dropped += len(waiting)
        log.warning("outbox full: dropped the %d oldest messages", len(waiting))
        self._rewrite()
        try:
            atomic_write(self._dropped_file, f"{self.dropped}\n".encode())
        except OSError as exc:
            log.error("cannot record the outbox drop count: %s", exc)

    def __len__(self) -> int:
        return len(self.records)
