"""What the serial layer tells the core: the writer thread's messages (through the core's
queue) and the link's health. Kept free of imports so the core can know these without
loading the serial stack on boards that have none."""

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


@dataclass(frozen=True, slots=True)
class SerialLinkHealth:
    """The link as the heartbeat's `serial` object shows it (the agent converts it)."""

    port: str
    protocol: str
    connected: bool
    frames_sent: int
    errors: int
