"""Timing rules of a serial line, kept free of threads and clocks so tests can drive them.

A port's `write` returns as soon as the kernel (or a USB adapter) has buffered the
bytes, long before they are on the wire; `out_waiting` is 0 on ptys and on many
adapters. So the writer models the line: each byte costs bits-per-byte / baud seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_bridge.protocols.common import AckPolicy
from signage_base import backoff

Backoff = backoff.Backoff  # the backoff shared with the agent, where the writer finds it

ACK_MISSES_BEFORE_DOUBT = 3  # "auto": after this many missing acknowledgements, stop waiting


class LineModel:
    def __init__(self, bytes_per_second: float) -> None:
        self.bytes_per_second = bytes_per_second
        self.busy_until = 0.0  # when the last byte handed to the port leaves the wire

    def transmit_time(self, count: int) -> float:
        return count / self.bytes_per_second

    def sent(self, count: int, at: float) -> None:
        self.busy_until = max(self.busy_until, at) + self.transmit_time(count)

    def free_in(self, now: float) -> float:
        return max(0.0, self.busy_until - now)

    def drained(self, now: float) -> None:
        """The controller acknowledged everything: the line is free whatever the model says."""
        self.busy_until = min(self.busy_until, now)


@dataclass
class AckWatch:
    """Acknowledgements owed by the controller (TPM2 `AC` after each good frame).

    "wait" always waits for them; "off" never; "auto" waits once the controller has
    been seen to send one, and stops waiting after a few go missing (a controller that
    was swapped for one that does not acknowledge must not halve the frame rate)."""

    policy: AckPolicy
    seen: bool = False
    owed: int = 0
    misses: int = 0

    @property
    def waiting(self) -> bool:
        return self.policy == "wait" or (self.policy == "auto" and self.seen)

    def sent(self) -> None:
        if self.policy != "off":
            self.owed += 1

    def received(self, data: bytes, ack: bytes) -> None:
        count = data.count(ack)
        if count:
            self.seen = True
            self.misses = 0
            self.owed = max(0, self.owed - count)

    def timed_out(self) -> None:
        self.owed = 0
        self.misses += 1
        if self.policy == "auto" and self.misses >= ACK_MISSES_BEFORE_DOUBT:
            self.seen = False
            self.misses = 0
