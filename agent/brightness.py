"""How bright the board is: a daily schedule from the config, and remote overrides.

Outdoor boards must be bright by day and not glare at night. The schedule says, for
times of day, the percentage from then on; `set_brightness` overrides it, for `for_s`
seconds or until the schedule's next step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from agent.config import BrightnessStep


@dataclass(frozen=True, slots=True)
class Override:
    percent: int
    until: datetime | None  # None: until the schedule's next step


class Brightness:
    def __init__(self, steps: list[BrightnessStep], tz: ZoneInfo) -> None:
        self.steps = sorted(steps, key=lambda s: s.at)
        self.tz = tz
        self.override: Override | None = None

    def scheduled(self, now: datetime) -> int:
        """The schedule's percentage now: the last step at or before this time of day."""
        if not self.steps:
            return 100
        clock = now.astimezone(self.tz).time()
        earlier = [s for s in self.steps if s.at <= clock]
        return (
            earlier[-1] if earlier else self.steps[-1]
        ).percent  # before the first: last night's

    def next_step(self, now: datetime) -> datetime | None:
        if not self.steps:
            return None
        local = now.astimezone(self.tz)
        for day in (0, 1):
            for step in self.steps:
                when = datetime.combine(local.date() + timedelta(days=day), step.at, self.tz)
                if when > local:
                    return when
        return None

    def set(self, percent: int, for_s: float | None, now: datetime) -> None:
        until = now + timedelta(seconds=for_s) if for_s is not None else self.next_step(now)
        self.override = Override(percent, until)

    def current(self, now: datetime) -> int:
        override = self.override
        if override is not None and (override.until is None or now < override.until):
            return override.percent
        self.override = None
        return self.scheduled(now)

    def next_change(self, now: datetime) -> datetime | None:
        times = [
            t for t in (self.next_step(now), self.override.until if self.override else None) if t
        ]
        return min(times, default=None)
