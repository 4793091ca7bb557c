"""Rules a layout must follow beyond each zone's own fields.

- content zones (text, image, clock, …) never overlap: text over text is unreadable;
- a decoration (rect) lies under the zones it overlaps, so it is listed before them;
- names that zones refer to (`takes_room_of`, `when_filled`, `smaller_than`) exist;
- a slot is text or an image, not both;
- a layout a playlist may name has at least one slot to fill.

Boxes are compared in percent; the overlap test ignores shared edges.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from display_layouts.layout import Arrangement, Layout
from display_layouts.problems import Finding, Loc, did_you_mean, zone_context
from display_layouts.spec import SlotKind
from display_layouts.zones.base import Zone

Box = tuple[float, float, float, float]
_EPSILON = 1e-6


def check_layout(layout: Layout) -> list[Finding]:
    problems = list(_check_slots(layout))
    if not layout.reserved and not layout.spec.slots:
        problems.append(Finding(("zones",), "no zone shows a slot, so no playlist can fill it"))
    seen = set()
    for index, arrangement in enumerate(layout.arrangements()):
        where = () if index == 0 else (f"variants.{index - 1}",)
        for problem in _check_arrangement(arrangement, layout, where, index):
            # A variant repeats what it does not change: report each problem once.
            same = (problem.context[len(where) :], problem.field, problem.message)
            if same not in seen:
                seen.add(same)
                problems.append(problem)
    return problems


def _check_slots(layout: Layout) -> Iterator[Finding]:
    kinds: dict[str, SlotKind] = {}
    for position, zone in enumerate(layout.base.zones):
        for binding in zone.bindings():
            known = kinds.setdefault(binding.slot, binding.kind)
            if known is not binding.kind:
                yield Finding(
                    ("zones", position, "image" if binding.kind is SlotKind.IMAGE else "text"),
                    f"slot '{binding.slot}' is shown as {known} elsewhere and as "
                    f"{binding.kind} here; use two slots",
                    (zone_context(zone.name),),
                )


def _check_arrangement(
    arrangement: Arrangement, layout: Layout, where: tuple[str, ...], index: int
) -> Iterator[Finding]:
    zones = arrangement.zones
    names = [zone.name for zone in zones]
    texts = [zone.name for zone in zones if zone.kind == "text"]
    slots = [slot.name for slot in layout.spec.slots]
    for position, zone in enumerate(zones):
        loc = _loc(index, position, zone)
        context = (*where, zone_context(zone.name))
        for other in zone.takes_room_of:
            if other not in names or other == zone.name:
                hint = did_you_mean(other, [n for n in names if n != zone.name])
                field: Loc = ("takes_room_of",)
                yield Finding(loc + field, f"no other zone '{other}'{hint}", context, field)
        larger = getattr(zone, "smaller_than", None)
        if larger is not None and (larger == zone.name or larger not in texts):
            hint = did_you_mean(larger, [n for n in texts if n != zone.name])
            field = ("smaller_than",)
            yield Finding(loc + field, f"no other text zone '{larger}'{hint}", context, field)
        for slot in zone.when_filled:
            if slot not in slots:
                hint = did_you_mean(slot, slots)
                field = ("when_filled",)
                yield Finding(loc + field, f"no zone shows slot '{slot}'{hint}", context, field)
    yield from _check_overlaps(arrangement, where, index)


def _check_overlaps(
    arrangement: Arrangement, where: tuple[str, ...], index: int
) -> Iterator[Finding]:
    shown = [zone for zone in arrangement.zones if not zone.hidden]
    boxes = {zone.name: zone.box for zone in shown}
    for position, zone in enumerate(shown):
        loc = _loc(index, arrangement.zones.index(zone), zone)
        context = (*where, zone_context(zone.name))
        for other in shown[:position]:
            problem = _conflict(zone, other, boxes)
            if problem:
                yield Finding((*loc, "box"), problem, context, ("box",))


def _loc(index: int, position: int, zone: Zone) -> Loc:
    """Where in the file to point: the zone, or its change in the variant."""
    return ("zones", position) if index == 0 else ("variants", index - 1, "zones", zone.name)


def _conflict(zone: Zone, earlier: Zone, boxes: dict[str, Box]) -> str | None:
    """Why `zone` may not lie where it does relative to `earlier` (listed before it)."""
    if zone.decoration:
        if not earlier.decoration and _overlap(zone.box, earlier.box):
            return (
                f"this rect would cover zone '{earlier.name}', listed before it: "
                "list decorations before the zones they lie under"
            )
        return None
    if earlier.decoration:
        return None
    if _overlap(zone.box, earlier.box):
        return f"overlaps zone '{earlier.name}': text and pictures may not overlap"
    return _conflict_when_grown(zone, earlier, boxes)


def _conflict_when_grown(zone: Zone, earlier: Zone, boxes: dict[str, Box]) -> str | None:
    if earlier.name in zone.takes_room_of or zone.name in earlier.takes_room_of:
        return None  # one only grows when the other is empty
    for mover, still in ((zone, earlier), (earlier, zone)):
        grown = _grown(mover, boxes)
        if _overlap(grown, still.box):
            return (
                f"zone '{mover.name}' would overlap zone '{still.name}' when it takes "
                f"the room of {', '.join(repr(n) for n in mover.takes_room_of)}"
            )
    return None


def _grown(zone: Zone, boxes: dict[str, Box]) -> Box:
    """The zone's box with the room of every zone it may take (all empty at once)."""
    box = zone.box
    for name in zone.takes_room_of:
        room = boxes.get(name)
        if room is not None:
            box = _grow(box, room)
    return box


def _grow(box: Box, room: Box) -> Box:
    """As layout.grow, in percent: stretched over `room` along the side it lies on."""
    left, top, right, bottom = _edges(box)
    r_left, r_top, r_right, r_bottom = _edges(room)
    beside = r_left >= right - _EPSILON or r_right <= left + _EPSILON
    stacked = r_top >= bottom - _EPSILON or r_bottom <= top + _EPSILON
    if not stacked:
        left, right = min(left, r_left), max(right, r_right)
    if not beside:
        top, bottom = min(top, r_top), max(bottom, r_bottom)
    return left, top, right - left, bottom - top


def _edges(box: Sequence[float]) -> tuple[float, float, float, float]:
    x, y, width, height = box
    return x, y, x + width, y + height


def _overlap(a: Box, b: Box) -> bool:
    a_left, a_top, a_right, a_bottom = _edges(a)
    b_left, b_top, b_right, b_bottom = _edges(b)
    return (
        min(a_right, b_right) - max(a_left, b_left) > _EPSILON
        and min(a_bottom, b_bottom) - max(a_top, b_top) > _EPSILON
    )
