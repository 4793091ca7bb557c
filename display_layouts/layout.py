"""A validated layout: its zones for each kind of canvas, its slots, and where each zone
lands on a canvas of a given size."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from display_layouts.canvas import Canvas
from display_layouts.model import When
from display_layouts.spec import LayoutSpec, Slot, SlotKind
from display_layouts.zones.base import Zone

Color = tuple[int, int, int]
# (x, y, width, height) in pixels, like pygame.Rect but without needing pygame.
Rect = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Arrangement:
    """The zones as drawn on one kind of canvas (the layout's own, or a variant's)."""

    background: Color | None  # None: transparent, drawn over what the board shows
    zones: tuple[Zone, ...]


@dataclass(frozen=True)
class Layout:
    name: str
    purpose: str
    reserved: bool
    base: Arrangement
    variants: tuple[tuple[When, Arrangement], ...] = ()
    override: bool = False
    source: str = "<built-in>"
    _by_canvas: dict[Canvas, Arrangement] = field(default_factory=dict, compare=False, repr=False)

    def arrangement(self, canvas: Canvas) -> Arrangement:
        """The first variant whose `when` matches the canvas, or the layout as written."""
        known = self._by_canvas.get(canvas)
        if known is None:
            known = next((a for when, a in self.variants if when.matches(canvas)), self.base)
            self._by_canvas[canvas] = known
        return known

    def arrangements(self) -> Iterator[Arrangement]:
        yield self.base
        for _, arrangement in self.variants:
            yield arrangement

    @cached_property
    def spec(self) -> LayoutSpec:
        return LayoutSpec(self.name, slots_of(self), self.purpose, self.reserved)


def slots_of(layout: Layout) -> tuple[Slot, ...]:
    """The slots the zones bind, in order; required unless every zone showing it is
    optional. (Kind conflicts are the loader's to report.)"""
    kinds: dict[str, SlotKind] = {}
    required: dict[str, bool] = {}
    for arrangement in layout.arrangements():
        for zone in arrangement.zones:
            for binding in zone.bindings():
                kinds.setdefault(binding.slot, binding.kind)
                required[binding.slot] = required.get(binding.slot, False) or not zone.optional
    return tuple(Slot(name, kind, required[name]) for name, kind in kinds.items())


def place(box: tuple[float, float, float, float], size: tuple[int, int]) -> Rect:
    """A box in percent to pixels. Edges are rounded, not sizes, so zones that touch in
    percent touch in pixels: no gap, no overlap."""
    x, y, width, height = box
    canvas_width, canvas_height = size
    left, top = round(x * canvas_width / 100), round(y * canvas_height / 100)
    right = round((x + width) * canvas_width / 100)
    bottom = round((y + height) * canvas_height / 100)
    return left, top, right - left, bottom - top


def grow(rect: Rect, room: Rect) -> Rect:
    """`rect` stretched over `room` along the side `room` lies on (both sides when they
    overlap), keeping its own extent on the other axis."""
    left, top, right, bottom = rect[0], rect[1], rect[0] + rect[2], rect[1] + rect[3]
    r_left, r_top, r_right, r_bottom = room[0], room[1], room[0] + room[2], room[1] + room[3]
    beside = r_left >= right or r_right <= left
    stacked = r_top >= bottom or r_bottom <= top
    if not stacked:  # to the left or right (or overlapping): take its width
        left, right = min(left, r_left), max(right, r_right)
    if not beside:  # above or below (or overlapping): take its height
        top, bottom = min(top, r_top), max(bottom, r_bottom)
    return left, top, right - left, bottom - top


def inset(rect: Rect, vertical: int, horizontal: int) -> Rect:
    x, y, width, height = rect
    vertical, horizontal = min(vertical, height // 2), min(horizontal, width // 2)
    return x + horizontal, y + vertical, width - 2 * horizontal, height - 2 * vertical


def arrange(
    arrangement: Arrangement, size: tuple[int, int], shown: Callable[[Zone], bool]
) -> list[tuple[Zone, Rect]]:
    """Each zone that draws something, with its rectangle on a canvas of `size`.

    A zone that draws nothing (hidden, or its slots empty) gives its room to the zones
    that list it in `takes_room_of`.
    """
    drawn = [zone for zone in arrangement.zones if not zone.hidden and shown(zone)]
    names = {zone.name for zone in drawn}
    boxes = {zone.name: place(zone.box, size) for zone in arrangement.zones}
    unit = max(1, min(size))
    placed = []
    for zone in drawn:
        rect = boxes[zone.name]
        for other in zone.takes_room_of:
            if other not in names and other in boxes:
                rect = grow(rect, boxes[other])
        vertical, horizontal = (round(unit * share / 100) for share in zone.insets)
        placed.append((zone, inset(rect, vertical, horizontal)))
    return placed
