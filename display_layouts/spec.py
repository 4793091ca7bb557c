"""What a playlist item may put in a layout: its slots (CONTRACT §4).

Validation (agent/content.py), rendering and documentation agree on these; they are
derived from the layout files (see library.py), never written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SlotKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"  # a clip: {url, sha256}, like a downloaded image (CONTRACT §10)


@dataclass(frozen=True, slots=True)
class Slot:
    name: str
    kind: SlotKind
    required: bool = True


@dataclass(frozen=True, slots=True)
class LayoutSpec:
    name: str
    slots: tuple[Slot, ...]
    purpose: str
    # Layouts the agent fills itself (alerts, idle); a playlist item may not name them.
    reserved: bool = False

    def slot(self, name: str) -> Slot | None:
        return next((s for s in self.slots if s.name == name), None)
