"""The built-in layouts and their slots (CONTRACT §4).

This is the one list that validation, rendering and documentation agree on: a playlist
item names a layout from here and fills its slots.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SlotKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"


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


def _text(name: str, required: bool = True) -> Slot:
    return Slot(name, SlotKind.TEXT, required)


def _image(name: str, required: bool = True) -> Slot:
    return Slot(name, SlotKind.IMAGE, required)


BUILTIN_LAYOUTS: dict[str, LayoutSpec] = {
    spec.name: spec
    for spec in (
        LayoutSpec("fullscreen_text", (_text("text"), _text("title", False)), "any screen"),
        LayoutSpec(
            "headline",
            (_text("title"), _text("body"), _image("image", False), _text("ticker", False)),
            "landscape and portrait LCD; shows a clock",
        ),
        LayoutSpec("image_caption", (_image("image"), _text("caption", False)), "LCD"),
        LayoutSpec("led_text", (_text("text"),), "small LED panels (64×32 … 256×64)"),
        LayoutSpec("alert_full", (), "severe and extreme alerts", reserved=True),
        LayoutSpec("alert_banner", (), "moderate and minor alerts", reserved=True),
        LayoutSpec("idle", (), "nothing eligible: board name and clock", reserved=True),
    )
}
