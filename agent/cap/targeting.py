"""Whether a CAP alert is meant for this board (CONTRACT §6, targeting inside the message).

An `<area>` covers the board when one of its `<geocode>` values is among the board's
`area_codes`, or one of its `<polygon>`s or `<circle>`s contains the board's `location`.
An info with areas is shown only where one covers the board. Two cases lean towards
showing, because a warning missed is worse than one seen by a neighbour:
- an area described only in words (`areaDesc`, as in "U.S. nationwide") gives the board
  nothing to check, so it covers every board;
- a board with neither codes nor a location cannot check anything: it shows the alert
  and reports itself `untargeted`.
Pure: the board's codes and location come in as arguments.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from agent.cap.choose import pick_language
from agent.cap.geometry import circle_contains, polygon_contains
from agent.cap.model import Area, CapMessage, Info, LatLon


@dataclass(frozen=True, slots=True)
class Targeting:
    """The decision for one board: whether to show, which `<info>`, and whether the board
    had nothing to decide with (`untargeted`: it shows area-targeted alerts everywhere)."""

    shown: bool
    info: Info | None = None
    untargeted: bool = False


def has_geography(area: Area) -> bool:
    """Whether a board can check the area: it has a polygon, a circle or a geocode."""
    return bool(area.polygons or area.circles or area.geocodes)


def covers(area: Area, area_codes: Collection[str], location: LatLon | None) -> bool:
    """Whether `area` covers a board with these codes and this location."""
    if not has_geography(area):
        return True
    if any(geocode.value in area_codes for geocode in area.geocodes):
        return True
    if location is None:
        return False
    return any(polygon_contains(p, location) for p in area.polygons) or any(
        circle_contains(c, location) for c in area.circles
    )


def target_info(info: Info, area_codes: Collection[str], location: LatLon | None) -> Targeting:
    """The decision for one `<info>`: no areas → shown; areas but a board without codes
    or location → shown, untargeted; otherwise shown when an area covers the board."""
    if not info.areas:
        return Targeting(shown=True, info=info)
    if not area_codes and location is None:
        untargeted = any(has_geography(area) for area in info.areas)
        return Targeting(shown=True, info=info, untargeted=untargeted)
    if any(covers(area, area_codes, location) for area in info.areas):
        return Targeting(shown=True, info=info)
    return Targeting(shown=False)


def target_message(
    message: CapMessage, language: str, area_codes: Collection[str], location: LatLon | None
) -> Targeting:
    """The decision for a whole message: of the `<info>`s meant for this board, the one in
    its language (else the first of them). Not shown when none is meant for it, nor when
    the message has no `<info>` at all — a Cancel ends what it references whatever its
    areas, so the integrator does not ask this of a Cancel."""
    decisions = [target_info(info, area_codes, location) for info in message.infos]
    shown = [decision for decision in decisions if decision.shown]
    chosen = pick_language(tuple(d.info for d in shown if d.info is not None), language)
    if chosen is None:
        return Targeting(shown=False)
    return next(decision for decision in shown if decision.info is chosen)
