"""What the serial writer thread tells the core (through its queue). Kept free of imports
so the core can know these without loading the serial stack on boards that have none."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SerialLinkChanged:
    up: bool
    port: str
    message: str


@dataclass(frozen=True, slots=True)
class SerialProblem:
    """Content or settings the panel cannot show as they are (cut, recoloured…)."""

    port: str
    message: str
