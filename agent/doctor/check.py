"""One line of the doctor's report: passed, failed (with what to do) or skipped (why)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TextIO, TypeVar

T = TypeVar("T")


class Outcome(Enum):
    PASSED = "✓"
    FAILED = "✗"
    SKIPPED = "–"
    WARNING = "!"  # works, but below what the board needs: not counted as a failure


@dataclass(frozen=True, slots=True)
class Check:
    outcome: Outcome
    what: str
    fix: str = ""

    @classmethod
    def passed(cls, what: str) -> Check:
        return cls(Outcome.PASSED, what)

    @classmethod
    def failed(cls, what: str, fix: str) -> Check:
        return cls(Outcome.FAILED, what, fix)

    @classmethod
    def warning(cls, what: str, fix: str) -> Check:
        return cls(Outcome.WARNING, what, fix)

    @classmethod
    def skipped(cls, what: str) -> Check:
        return cls(Outcome.SKIPPED, what)

    @property
    def ok(self) -> bool:
        return self.outcome is not Outcome.FAILED

    def show(self, out: TextIO) -> None:
        print(f"{self.outcome.value} {self.what}", file=out)
        if self.fix:
            for n, line in enumerate(self.fix.splitlines()):
                print(f"    {'→' if n == 0 else ' '} {line}", file=out)


def timed(action: Callable[[], T]) -> tuple[T, float]:
    """The action's result and how long it took, in milliseconds."""
    started = time.monotonic()
    result = action()
    return result, (time.monotonic() - started) * 1000


def ms(value: float) -> str:
    """A duration for a report line: 0.4 ms, 12 ms."""
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"
