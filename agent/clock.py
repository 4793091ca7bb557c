"""Time, injected: the core and the schedule never read the system clock directly."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware wall-clock time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()
