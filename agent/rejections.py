"""Bad input floods: a few rejections reported one by one, the rest counted.

Every bad payload gets a `content.rejected` event, but a flood of 40 000 junk messages on
one topic must not become 40 000 events queued for the dashboard (they would bury the
alert events behind them and fill the outbox). Per source (a topic; for alerts, the
subscription that matched), a token bucket: up to `burst` rejections in a row are
reported (a content manager trying things, a test suite), then one per `1 / rate`
seconds; the rest are counted and reported in one `input.suppressed` summary per burst:
once the source has been quiet for `quiet_s`, or every `report_every_s` while a long
flood lasts.

Pure: time comes in as arguments (monotonic seconds for the limits, wall time for the
report).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MAX_SOURCES = 64  # sources are the board's subscriptions: a handful; bound them anyway
OVERFLOW_SOURCE = "*"


@dataclass(frozen=True, slots=True)
class Suppressed:
    """Rejections of one source not reported one by one."""

    source: str
    count: int
    first_at: datetime
    last_at: datetime


@dataclass(slots=True)
class _Source:
    tokens: float
    updated: float
    count: int = 0
    first_mono: float = 0.0
    last_mono: float = 0.0
    first_at: datetime | None = None
    last_at: datetime | None = None


class RejectionLimiter:
    def __init__(
        self,
        *,
        burst: int = 50,
        rate: float = 0.5,
        quiet_s: float = 5.0,
        report_every_s: float = 60.0,
    ) -> None:
        self.burst = burst
        self.rate = rate
        self.quiet_s = quiet_s
        self.report_every_s = report_every_s
        self._sources: dict[str, _Source] = {}

    def admit(self, source: str, mono: float, now: datetime) -> bool:
        """Whether this rejection may be reported; if not, it is counted for the summary."""
        state = self._sources.get(source)
        if state is None:
            if len(self._sources) >= MAX_SOURCES and source != OVERFLOW_SOURCE:
                return self.admit(OVERFLOW_SOURCE, mono, now)  # counted there, never lost
            state = self._sources[source] = _Source(tokens=self.burst, updated=mono)
        self._refill(state, mono)
        if state.tokens >= 1:
            state.tokens -= 1
            return True
        if state.count == 0:
            state.first_mono, state.first_at = mono, now
        state.count += 1
        state.last_mono, state.last_at = mono, now
        return False

    def due(self, mono: float) -> list[Suppressed]:
        """The summaries whose burst is over (or has lasted `report_every_s`)."""
        reports = []
        for source, state in list(self._sources.items()):
            if state.count and (
                mono - state.last_mono >= self.quiet_s
                or mono - state.first_mono >= self.report_every_s
            ):
                assert state.first_at is not None
                assert state.last_at is not None
                reports.append(Suppressed(source, state.count, state.first_at, state.last_at))
                state.count = 0
            self._refill(state, mono)
            if state.count == 0 and state.tokens >= self.burst:
                del self._sources[source]  # nothing pending, nothing spent: forget it
        return reports

    def _refill(self, state: _Source, mono: float) -> None:
        state.tokens = min(self.burst, state.tokens + (mono - state.updated) * self.rate)
        state.updated = mono

    def next_due(self) -> float | None:
        """The monotonic time at which `due` may have something to say."""
        times = [
            min(s.last_mono + self.quiet_s, s.first_mono + self.report_every_s)
            for s in self._sources.values()
            if s.count
        ]
        return min(times, default=None)

    def pending(self) -> list[Suppressed]:
        """Every count not yet reported (a clean stop reports them)."""
        reports = []
        for source, state in self._sources.items():
            if state.count:
                assert state.first_at is not None
                assert state.last_at is not None
                reports.append(Suppressed(source, state.count, state.first_at, state.last_at))
                state.count = 0
        return reports
