"""What a simulated controller counts: the technician's and the tests' view of the line."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from firmware_bridge.frame import PanelFrame

MAX_PROBLEMS = 50


@dataclass
class SignStats:
    packets: int = 0  # packets read in full and accepted
    frames: int = 0  # times what the panel shows was replaced
    rejected: int = 0  # packets refused: malformed, cut, bad checksum, wrong size
    checksum_errors: int = 0
    unchecked: int = 0  # Alpha commands sent without a checksum
    skipped_bytes: int = 0  # line noise between packets
    problems: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_PROBLEMS))
    problems_total: int = 0

    def problem(self, message: str) -> None:
        self.problems.append(message)
        self.problems_total += 1


class PanelModel(Protocol):
    """A controller's behaviour: bytes in, replies out, and what its LEDs show."""

    stats: SignStats

    def receive(self, data: bytes, now: float) -> bytes:
        """Take bytes off the line; returns the bytes the controller answers."""

    def shown(self) -> PanelFrame: ...
