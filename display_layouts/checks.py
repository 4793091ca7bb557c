"""Rules a layout must follow beyond each zone's own fields.

- content zones (text, image, clock, …) never overlap: text over text is unreadable. Not
  even once zones take the room of zones that draw nothing (hidden ones included: the
  renderer gives a hidden zone's room like an empty one's), whichever slots are filled;
- a decoration (rect) lies under the zones it overlaps, so it is listed before them;
- names that zones refer to (`takes_room_of`, `when_filled`, `smaller_than`) exist;
- a slot is text or an image, not both;
- a layout a playlist may name has at least one slot to fill.

Boxes are compared in percent; the overlap test ignores shared edges.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from display_layouts import templates
from display_layouts.layout import Arrangement, Layout
from display_layouts.plain import clean
from display_layouts.problems import Finding, Loc, did_you_mean, zone_context
from display_layouts.spec import SlotKind
from display_layouts.zones.base import Zone
from display_layouts.zones.clock import ClockZone
from display_layouts.zones.image import ImageZone
from display_layouts.zones.qr import QrZone
from display_layouts.zones.rect import RectZone
from display_layouts.zones.text import TextZone
from display_layouts.zones.ticker import TickerZone

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
                    ("zones", position, binding.kind.value),
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
    yield from _check_overlaps(arrangement, layout, where, index)


def _check_overlaps(
    arrangement: Arrangement, layout: Layout, where: tuple[str, ...], index: int
) -> Iterator[Finding]:
    room = _Room(arrangement, layout, index)
    shown = [zone for zone in arrangement.zones if not zone.hidden]
    found = 0
    for position, zone in enumerate(shown):
        loc = _loc(index, arrangement.zones.index(zone), zone)
        context = (*where, zone_context(zone.name))
        for other in shown[:position]:
            problem = _conflict(zone, other, room)
            if problem is None:
                continue
            if found == _MAX_OVERLAPS:
                yield Finding((*loc, "box"), "and more overlaps: fix these first", context)
                return
            found += 1
            yield Finding((*loc, "box"), problem, context, ("box",))


def _loc(index: int, position: int, zone: Zone) -> Loc:
    """Where in the file to point: the zone, or its change in the variant."""
    return ("zones", position) if index == 0 else ("variants", index - 1, "zones", zone.name)


def _conflict(zone: Zone, earlier: Zone, room: _Room) -> str | None:
    """Why `zone` may not lie where it does relative to `earlier` (listed before it)."""
    if earlier.decoration:
        return None  # a backdrop under what follows it: what decorations are for
    if _overlap(zone.box, earlier.box):
        if zone.decoration:
            return _covers(earlier, "")
        return f"overlaps zone '{earlier.name}': text and pictures may not overlap"
    return _conflict_when_grown(zone, earlier, room)


def _conflict_when_grown(zone: Zone, earlier: Zone, room: _Room) -> str | None:
    """Why the two may overlap once they take the room of zones that draw nothing."""
    for filled in room.fillings(zone, earlier):
        absent = room.absent(filled, drawn=(zone, earlier))
        grown = room.grown(zone, absent), room.grown(earlier, absent)
        if not _overlap(*grown):
            continue
        growth = room.growth((zone, earlier), grown, absent)
        takes = " and ".join(f"zone '{name}' takes the room of {rooms}" for name, rooms in growth)
        if zone.decoration:
            return _covers(earlier, f", when {takes}")
        if len(growth) > 1:
            return f"would overlap zone '{earlier.name}' when {takes}"
        mover, rooms = growth[0]
        still = earlier.name if mover == zone.name else zone.name
        return f"zone '{mover}' would overlap zone '{still}' when it takes the room of {rooms}"
    return None


def _covers(earlier: Zone, when: str) -> str:
    return (
        f"this rect would cover zone '{earlier.name}', listed before it{when}: "
        "list decorations before the zones they lie under"
    )


# A zone type whose zone draws whenever the slots it shows are filled (a QR code may not:
# a link too long to encode leaves it empty; a type not named here is assumed to be like it).
_FAITHFUL = (TextZone, TickerZone, ClockZone, RectZone, ImageZone)
# More ways for two zones to draw than this and the check assumes the fewest slots filled
# for either (more room given: never less strict), to stay quick on any file.
_MAX_FILLINGS = 64
# Rooms named in one problem, and overlap problems reported for one arrangement: a file of
# 64 zones all taking each other's room is answered in a second, with the first to fix.
_MAX_NAMED = 3
_MAX_OVERLAPS = 20


class _Room:
    """Which zones of an arrangement draw nothing while two others draw, and how far the
    zones that take their room then grow.

    A zone draws nothing when it is hidden, when a slot of its `when_filled` is empty,
    when every slot it shows is empty (unless it has fixed text or a default), and, for
    a QR code, when its text cannot be encoded. Growing only ever enlarges a zone, and
    more empty zones only enlarge it further, so two zones that may overlap do so with
    the fewest slots filled that still let both draw: those are the cases checked.
    Required text slots are always filled (a playlist must fill them); a picture may be
    missing (not downloaded yet) even when required.
    """

    def __init__(self, arrangement: Arrangement, layout: Layout, index: int) -> None:
        self.zones = {zone.name: zone for zone in arrangement.zones}
        self.filled = frozenset(
            slot.name for slot in layout.spec.slots if slot.required and slot.kind is SlotKind.TEXT
        )
        self.variant = index > 0
        self.needs: dict[str, tuple[str, ...] | None] = {}
        self._grown: dict[tuple[str, tuple[str, ...]], Box] = {}

    def fillings(self, a: Zone, b: Zone) -> Iterator[frozenset[str]]:
        """The fewest slots filled with which both zones draw."""
        base = self.filled | set(a.when_filled) | set(b.when_filled)
        options = [self._one_of(zone, base) for zone in (a, b)]
        if len(options[0]) * len(options[1]) > _MAX_FILLINGS:
            yield base
            return
        for first in options[0]:
            for second in options[1]:
                yield base | first | second

    def absent(self, filled: frozenset[str], drawn: tuple[Zone, Zone]) -> set[str]:
        """The zones whose room the two drawn zones may take that draw nothing with only
        `filled` filled (only those: the check stays quadratic in the zones)."""
        names = {name for zone in drawn for name in zone.takes_room_of if name in self.zones}
        names -= {zone.name for zone in drawn}
        return {name for name in names if not self._draws(self.zones[name], filled)}

    def _draws(self, zone: Zone, filled: frozenset[str]) -> bool:
        if zone.hidden or not isinstance(zone, _FAITHFUL):
            return False
        needs = self._needs(zone)
        return filled.issuperset(zone.when_filled) and (
            needs is None or bool(filled.intersection(needs))
        )

    def _one_of(self, zone: Zone, filled: frozenset[str]) -> list[frozenset[str]]:
        """The ways to fill one more slot so that `zone` draws (one way, adding nothing,
        when it already does; none when it never draws)."""
        needs = self._needs(zone)
        if needs is None or filled.intersection(needs):
            return [frozenset()]
        return [frozenset({name}) for name in needs]

    def _needs(self, zone: Zone) -> tuple[str, ...] | None:
        if zone.name not in self.needs:
            self.needs[zone.name] = _needs(zone)
        return self.needs[zone.name]

    def grown(self, zone: Zone, absent: set[str]) -> Box:
        """The zone's box, stretched over the zones of its `takes_room_of` that are absent,
        in that order (as layout.arrange grows it)."""
        taken = tuple(name for name in zone.takes_room_of if name in absent and name in self.zones)
        key = zone.name, taken
        box = self._grown.get(key)
        if box is None:  # pairs of one zone mostly differ in what the other one is
            box = zone.box
            for name in taken:
                box = _grow(box, self.zones[name].box)
            self._grown[key] = box
        return box

    def growth(
        self, pair: tuple[Zone, Zone], grown: tuple[Box, Box], absent: set[str]
    ) -> list[tuple[str, str]]:
        """How the two zones come to overlap: each zone that grows, and the rooms it takes
        (those that alone make it overlap, when there are such: the ones to fix)."""
        found = []
        for zone, other in ((pair[0], grown[1]), (pair[1], grown[0])):
            taken = [name for name in zone.takes_room_of if name in absent and name in self.zones]
            alone = [n for n in taken if _overlap(_grow(zone.box, self.zones[n].box), other)]
            named = alone or taken
            if named:
                words = ", ".join(map(self._room_words, named[:_MAX_NAMED]))
                more = len(named) - _MAX_NAMED
                found.append((zone.name, words + (f" and {more} more" if more > 0 else "")))
        return found

    def _room_words(self, name: str) -> str:
        """A room taken, with why it may be empty when that is not plain."""
        zone = self.zones[name]
        if zone.hidden:
            return f"'{name}' (hidden{' in this variant' if self.variant else ''})"
        if isinstance(zone, QrZone):
            return f"'{name}' (a QR code draws nothing when its text is too long to encode)"
        if not isinstance(zone, _FAITHFUL):
            return f"'{name}' (it may draw nothing)"
        return f"'{name}'"


def _needs(zone: Zone) -> tuple[str, ...] | None:
    """The variables of which one must be filled for the zone to draw; None: it draws
    with all of them empty (fixed text, a default, a clock, a rect)."""
    if isinstance(zone, ImageZone):
        return (zone.slot,)
    if isinstance(zone, TextZone) and zone.default is not None and clean(zone.default).strip():
        return None
    if isinstance(zone, TextZone | TickerZone):
        template = zone.text
    elif isinstance(zone, QrZone):
        template = zone.data
    else:
        return None
    names = templates.variables(template)
    if names:
        return names
    fixed = templates.fill(template, lambda _: None)
    return None if fixed is not None and clean(fixed).strip() else ()


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
