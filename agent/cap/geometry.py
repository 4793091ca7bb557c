"""CAP shapes on WGS-84: reading "lat,lon" text, checking polygons, and whether a point
lies inside a polygon or a circle.

Polygons are treated in the plane of (longitude, latitude), which is accurate for the
city-scale areas warnings use; a polygon crossing the antimeridian is not supported
(none of Vietnam's is). Circles use the great-circle (haversine) distance.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence

from agent.cap.limits import MAX_POLYGON_POINTS
from agent.cap.model import Circle, LatLon, Polygon

EARTH_RADIUS_KM = 6371.0088  # the IUGG mean radius
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)


class TooComplex(ValueError):
    """The self-intersection check would cost more than the budget left for it."""


class Budget:
    """Segment comparisons left for one document's self-intersection checks."""

    def __init__(self, comparisons: int) -> None:
        self.left = comparisons

    def spend(self, comparisons: int) -> None:
        self.left -= comparisons
        if self.left < 0:
            raise TooComplex("polygon is too complex to check for self-intersection")


def _degrees(text: str, what: str) -> float:
    if _NUMBER.fullmatch(text) is None:
        raise ValueError(f"{what} must be a decimal number of degrees")
    return float(text)


def parse_point(text: str) -> LatLon:
    """ "lat,lon" in decimal degrees, both within range."""
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError("a point must be written 'lat,lon'")
    lat = _degrees(parts[0], "latitude")
    lon = _degrees(parts[1], "longitude")
    if not -90 <= lat <= 90:
        raise ValueError("latitude must be between -90 and 90")
    if not -180 <= lon <= 180:
        raise ValueError("longitude must be between -180 and 180")
    return LatLon(lat, lon)


def parse_polygon(text: str, budget: Budget) -> Polygon:
    """A polygon from CAP's space-separated points: at least 4, closed (first = last),
    in range, and not crossing itself. ValueError says which rule failed."""
    words = text.split()
    if len(words) > MAX_POLYGON_POINTS:
        raise ValueError(f"has more than {MAX_POLYGON_POINTS} points")
    if len(words) < 4:
        raise ValueError(f"needs at least 4 points (the first repeated last), got {len(words)}")
    points: list[LatLon] = []
    for number, word in enumerate(words, start=1):
        try:
            points.append(parse_point(word))
        except ValueError as error:
            raise ValueError(f"point {number}: {error}") from None
    if points[0] != points[-1]:
        raise ValueError("is not closed: the last point must repeat the first")
    corners = _without_repeats(points)
    if len(corners) < 4:
        raise ValueError("needs at least 3 distinct corners")
    crossing = _self_intersection(corners, budget)
    if crossing is not None:
        raise ValueError(f"crosses itself (edges {crossing[0] + 1} and {crossing[1] + 1})")
    return Polygon(tuple(points))


def parse_circle(text: str) -> Circle:
    """ "lat,lon radius" with the radius in kilometres (CAP 1.2 §3.2.4)."""
    words = text.split()
    if len(words) != 2:
        raise ValueError("a circle must be written 'lat,lon radius' (radius in km)")
    centre = parse_point(words[0])
    if _NUMBER.fullmatch(words[1]) is None or words[1].startswith("-"):
        raise ValueError("the radius must be a non-negative number of kilometres")
    radius = float(words[1])
    if not math.isfinite(radius):
        raise ValueError("the radius is too large")
    return Circle(centre, radius)


def _without_repeats(points: Sequence[LatLon]) -> list[LatLon]:
    """The ring without consecutive duplicate points (still closed)."""
    kept = [points[0]]
    for point in points[1:]:
        if point != kept[-1]:
            kept.append(point)
    return kept


Segment = tuple[LatLon, LatLon]


def _cross(o: LatLon, a: LatLon, b: LatLon) -> float:
    return (a.lon - o.lon) * (b.lat - o.lat) - (a.lat - o.lat) * (b.lon - o.lon)


def _within_box(p: LatLon, a: LatLon, b: LatLon) -> bool:
    return min(a.lon, b.lon) <= p.lon <= max(a.lon, b.lon) and min(a.lat, b.lat) <= p.lat <= max(
        a.lat, b.lat
    )


def on_segment(p: LatLon, a: LatLon, b: LatLon) -> bool:
    return _cross(a, b, p) == 0 and _within_box(p, a, b)


def _segments_meet(s: Segment, t: Segment) -> bool:
    (a, b), (c, d) = s, t
    d1, d2 = _cross(c, d, a), _cross(c, d, b)
    d3, d4 = _cross(a, b, c), _cross(a, b, d)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return on_segment(a, c, d) or on_segment(b, c, d) or on_segment(c, a, b) or on_segment(d, a, b)


def _folds_back(s: Segment, t: Segment) -> bool:
    """Whether consecutive edges s = (a, b) and t = (b, c) overlap beyond their shared
    corner b: a spike that runs back along itself."""
    (a, b), (_, c) = s, t
    return _cross(a, b, c) == 0 and (on_segment(c, a, b) or on_segment(a, b, c))


def _self_intersection(ring: Sequence[LatLon], budget: Budget) -> tuple[int, int] | None:
    """The first pair of edges (by index) that meet other than at a shared corner.

    A sweep over longitude: only edges whose longitude ranges overlap are compared, which
    for a city polygon is a few per edge; `budget` bounds a polygon made to defeat it."""
    edges = [(ring[i], ring[i + 1]) for i in range(len(ring) - 1)]
    count = len(edges)
    for i in range(count):
        if _folds_back(edges[i], edges[(i + 1) % count]):
            return (i, (i + 1) % count)
    order = sorted(range(count), key=lambda i: min(edges[i][0].lon, edges[i][1].lon))
    active: list[int] = []
    for i in order:
        start = min(edges[i][0].lon, edges[i][1].lon)
        active = [j for j in active if max(edges[j][0].lon, edges[j][1].lon) >= start]
        budget.spend(len(active) + 1)
        for j in active:
            if abs(i - j) in (1, count - 1):
                continue  # neighbours share a corner (checked by _folds_back)
            if _segments_meet(edges[i], edges[j]):
                return (min(i, j), max(i, j))
        active.append(i)
    return None


def polygon_contains(polygon: Polygon, point: LatLon) -> bool:
    """Whether `point` is inside `polygon` or on its edge (ray casting along latitude)."""
    ring = polygon.points
    inside = False
    for a, b in itertools.pairwise(ring):
        if on_segment(point, a, b):
            return True
        if (a.lat > point.lat) != (b.lat > point.lat):
            crossing_lon = a.lon + (point.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat)
            if point.lon < crossing_lon:
                inside = not inside
    return inside


def distance_km(a: LatLon, b: LatLon) -> float:
    """The great-circle distance between two points (haversine)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def circle_contains(circle: Circle, point: LatLon) -> bool:
    """Whether `point` is within the circle's radius of its centre (edge included)."""
    return distance_km(circle.centre, point) <= circle.radius_km
