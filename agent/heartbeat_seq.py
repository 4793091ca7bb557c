"""The heartbeat `seq` counter: one more per heartbeat, across restarts too, never
repeated, without a write per heartbeat."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from agent.storage import StateFileProblem, StorageHealth, atomic_write, read_state_file, set_aside

log = logging.getLogger(__name__)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class SeqCounter:
    """Heartbeat `seq`: grows by one per heartbeat, also across restarts; never repeats.

    Writing the number on every heartbeat would wear out SD cards, so numbers are
    reserved in blocks: the file holds the first number not yet reserved. A clean stop
    writes the exact next number; after a crash the counter skips to the reserved
    mark, so a number is never repeated (a gap tells the dashboard something was lost).

    When the file is damaged (garbage, empty, negative, not a file) the number it held is
    unknown. Starting again at 1 would make `seq` go backwards, so the counter continues
    from the wall clock in milliseconds since 1970: a board sends at most one heartbeat a
    second and skips at most one block per restart (which takes far longer than a
    millisecond per number), so its `seq` can never have reached that value. `at_least`
    (the highest `seq` still waiting in the outbox, plus one) is a floor on top. The same
    rule applies when a reservation cannot be written (read-only or full state dir): the
    mark on disk could then lag behind what was sent.
    """

    BLOCK = 64
    MAX_FILE_BYTES = 64
    MAX_SEQ = 2**53  # still exact in every JSON reader

    def __init__(
        self,
        path: Path,
        health: StorageHealth | None = None,
        *,
        wall_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.path = path
        self.health = health or StorageHealth()
        self.wall_ms = wall_ms
        self.writes = 0
        self._on_clock = False  # the on-disk mark cannot be trusted: follow the clock rule
        self._next = self._read()
        self._reserved_until = self._next

    def _read(self) -> int:
        try:
            raw = read_state_file(self.path, self.MAX_FILE_BYTES)
        except StateFileProblem as problem:
            return self._recover(problem.reason)
        if raw is None:
            return 1  # a new board
        try:
            value = int(raw.decode("ascii").strip())
        except ValueError:  # UnicodeDecodeError is one
            return self._recover("does not hold a number" if raw.strip() else "is empty")
        if not 1 <= value <= self.MAX_SEQ:
            return self._recover(f"holds {value}, which no heartbeat seq can be")
        return value

    def _recover(self, reason: str) -> int:
        value = self._clock_value()
        set_aside(
            self.path,
            reason,
            f"heartbeat seq continues at {value} (the clock in milliseconds: above any seq "
            "sent before), so it never goes back",
            self.health,
        )
        return value

    def _clock_value(self) -> int:
        self._on_clock = True
        return min(self.MAX_SEQ, max(1, self.wall_ms()))

    def at_least(self, floor: int) -> None:
        """Continue at `floor` or later (the outbox still holds heartbeats up to floor - 1)."""
        if floor > self._next:
            log.warning("heartbeat seq moved from %d to %d (outbox)", self._next, floor)
            self._next = floor

    def _write(self, value: int) -> bool:
        try:
            atomic_write(self.path, f"{value}\n".encode())
        except OSError as exc:  # heartbeats go on; only the restart continuity is at risk
            self.health.problem(
                f"write:{self.path}",
                f"cannot save heartbeat seq to {self.path} ({exc.strerror or exc}): seq "
                "follows the clock until it can, so it never repeats",
            )
            return False
        self.health.resolved(f"write:{self.path}")
        self.writes += 1
        return True

    def next(self) -> int:
        if self._next >= self._reserved_until:
            if self._write(self._next + self.BLOCK):
                self._reserved_until = self._next + self.BLOCK
            elif not self._on_clock:
                # Unsaved: after a crash the file would hold an older mark. Jump once to
                # the clock rule, which stays ahead of it; retry the write next time.
                self._next = max(self._next, self._clock_value())
        seq = self._next
        self._next += 1
        return seq

    def close(self) -> None:
        """On a clean stop: record the exact next number so no gap appears."""
        self._write(self._next)
