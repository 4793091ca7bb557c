"""One jittered exponential backoff, shared by the MQTT link, the asset fetcher and the
serial writer.

Attempt 1 waits about `low`, doubling up to `high`. The jitter (each delay drawn from
50–100 % of its step) keeps a fleet that lost the same broker, image server or power
from coming back in lockstep. Without a random source the delays are the plain steps
(deterministic, for tests and for callers that want none).
"""

from __future__ import annotations

import random


def backoff_delay(attempt: int, low: float, high: float, rng: random.Random | None) -> float:
    # The exponent is capped: a port unplugged for a month must not overflow a float.
    step = min(high, low * 2 ** min(max(0, attempt - 1), 64))
    return float(step if rng is None else step * rng.uniform(0.5, 1.0))


class Backoff:
    """Reconnection delays: doubling from `first` up to `most`, back to `first` on success."""

    def __init__(self, first: float, most: float, rng: random.Random | None = None) -> None:
        self.first = first
        self.most = max(first, most)
        self.rng = rng
        self._attempt = 0

    def next(self) -> float:
        self._attempt += 1
        return backoff_delay(self._attempt, self.first, self.most, self.rng)

    def reset(self) -> None:
        self._attempt = 0
