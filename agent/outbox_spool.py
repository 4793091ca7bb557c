"""The outbox's spool: the messages not yet acknowledged, on disk, so that a broker
outage or a restart cannot lose them (the order in memory is the outbox's, agent/outbox.py).

Lines are appended and fsynced while the link is down (a power cut must not lose them);
the file is rewritten when what it holds has mostly arrived. Every line is checked when
read: damaged lines are kept aside in `outbox.jsonl.bad-<time>`, counted (`quarantined`)
and reported once; lines too large for the broker or on a topic not the board's own are
never sent. The count of messages dropped because the outbox was full is kept beside it
(`outbox.dropped`), so that it survives restarts.
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

from agent.outbound import MAX_MESSAGE_BYTES, topic_problem
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

# A spool holding more acknowledged lines than this (and than live ones) is rewritten.
COMPACT_AFTER = 256
MAX_SPOOL_LINE_BYTES = 2 * MAX_MESSAGE_BYTES + 1024  # JSON escaping can double a payload
# A full outbox of heartbeats (10 000 × ~1.5 KiB) is ~15 MiB; a bigger spool is damage, and
# reading it from an SD card would hold up the first frame.
MAX_SPOOL_FILE_BYTES = 32 * 1024 * 1024

SPOOL_RETRY_S = 60.0  # after a failed append (full SD card): not at every message


@dataclass(eq=False)
class Record:
    topic: str
    payload: bytes
    urgent: bool = False
    on_disk: bool = False
    mid: int | None = None  # set once handed to the MQTT client


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


class Spool:
    """The spool file and the drop count of one outbox, in `directory`.

    `too_large` says (and counts) whether a message read back is too large for the
    broker; `bound` is how many messages the outbox keeps (the newest, when the spool
    holds more)."""

    def __init__(
        self,
        directory: Path,
        *,
        bound: int,
        topics: frozenset[str] | None,
        too_large: Callable[[str, bytes], bool],
        health: StorageHealth,
    ) -> None:
        self.path = directory / "outbox.jsonl"
        self._dropped_file = directory / "outbox.dropped"
        self.bound = bound
        self.topics = topics
        self.too_large = too_large
        self.health = health
        self.behind = False  # an append failed: some older records are only in memory
        self.retry_at = 0.0  # when to try the spool again after a failed append
        self.quarantined = 0  # spool lines kept aside as damaged (since start)
        self.highest_seq: int | None = None  # of the heartbeats found in the spool
        self._oversize_read = 0  # lines too large for the broker (not damage, not kept)
        self.dropped = self._load_dropped()
        self.spooled = 0  # on disk, not yet acknowledged
        self._delivered_on_disk = 0  # lines in the spool file already acknowledged

    # --- reading at start -------------------------------------------------------------

    def load(self) -> list[Record]:
        """The messages spooled before a restart, oldest first, each line checked."""
        records = self._read()
        self.spooled = sum(r.on_disk for r in records)
        return records

    def _read(self) -> list[Record]:
        try:
            fd = open_state_file(self.path)
        except StateFileProblem as problem:
            set_aside(self.path, problem.reason, "messages in it are not sent", self.health)
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
            set_aside(self.path, reason, "messages in it are not sent", self.health)
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
                self.path,
                f"cannot be read ({exc.strerror or exc})",
                f"{len(kept)} messages read before the error are sent",
                self.health,
            )
            return list(kept)
        records = list(kept)
        # Dropped lines (bound, size) must not come back at the next start.
        rewrite = total > len(records) or self._oversize_read > 0
        if total > len(records):
            self.dropped += total - len(records)
            log.warning("outbox: %d spooled messages above the bound dropped", total - len(records))
            self.save_dropped()
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
        if self.too_large(topic, payload):  # not damage: counted as oversize, not kept
            self._oversize_read += 1
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
            moved = quarantine(self.path)
            done = f"the spool was moved aside as {moved.name}"
        except OSError as exc:
            done = f"the spool could not be moved aside ({exc.strerror or exc})"
        self._save_spool(good)
        self.health.problem(
            f"damaged:{self.path}",
            f"state file {self.path} has {len(bad)} damaged lines ({summary}): never sent; "
            f"{done}; {len(good)} good messages are sent",
        )

    def _save_spool(self, records: list[Record]) -> None:
        """The spool holds exactly `records` (after a clean-up at load)."""
        try:
            self._write_exactly(records)
        except OSError as exc:
            log.error("cannot rewrite the outbox %s: %s", self.path, exc)
            for record in records:
                record.on_disk = False  # written again at the next chance
            self.behind = True

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

    # --- writing while running --------------------------------------------------------

    def _write_exactly(self, records: list[Record]) -> None:
        """Replace the spool by `records` (no file when there are none); `OSError` if not."""
        if records:
            atomic_write(self.path, b"".join(self._line(r) for r in records))
        else:
            atomic_delete(self.path)

    @staticmethod
    def _line(record: Record) -> bytes:
        entry: dict[str, Any] = {"topic": record.topic, "payload": record.payload.decode()}
        if record.urgent:
            entry["urgent"] = True
        return json.dumps(entry, ensure_ascii=False).encode() + b"\n"

    def append(self, records: Collection[Record]) -> None:
        """Add the records not on disk yet; on failure they wait in memory (`behind`)."""
        fresh = [r for r in records if not r.on_disk]
        if not fresh:
            return
        data = b"".join(self._line(r) for r in fresh)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as spool:
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
            self.behind = True
            self.retry_at = time.monotonic() + SPOOL_RETRY_S
            self.health.problem(
                f"write:{self.path}",
                f"cannot write the outbox {self.path} ({exc.strerror or exc}): messages wait "
                "in memory and are lost if the agent stops before the broker is back",
            )
            return
        self.behind = False
        self.health.resolved(f"write:{self.path}")
        for record in fresh:
            record.on_disk = True
        self.spooled += len(fresh)

    def acknowledged(self) -> bool:
        """One spooled message has arrived; True when the spool is due for a rewrite.

        Everything spooled has arrived: the spool goes. A link that keeps dropping before
        that happens would leave delivered lines piling up in the file (each drop appends
        what is unacknowledged): compact it once they outnumber the rest."""
        self.spooled -= 1
        self._delivered_on_disk += 1
        return self.spooled == 0 or self._delivered_on_disk > max(COMPACT_AFTER, self.spooled)

    def rewrite(self, on_disk: list[Record]) -> None:
        """The spool holds exactly `on_disk` (what is still spooled, unacknowledged)."""
        self.spooled = len(on_disk)
        self._delivered_on_disk = 0
        try:
            self._write_exactly(on_disk)
        except OSError as exc:
            self.health.problem(
                f"write:{self.path}",
                f"cannot rewrite the outbox {self.path} ({exc.strerror or exc})",
            )

    def save_dropped(self) -> None:
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
