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
# A point this close to an edge is on it (and so covered): about 0.1 mm, far below any
# board's GPS, and far above the rounding of decimal degrees in binary floating point.
ON_EDGE_DEGREES = 1e-9
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
            raise TooComplex("is too complex to check for self-intersection")


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
    t = ON_EDGE_DEGREES
    within_lon = min(a.lon, b.lon) - t <= p.lon <= max(a.lon, b.lon) + t
    return within_lon and min(a.lat, b.lat) - t <= p.lat <= max(a.lat, b.lat) + t


def _collinear(a: LatLon, b: LatLon, p: LatLon) -> bool:
    """Whether p lies on the line through a and b, within ON_EDGE_DEGREES of it."""
    length = math.hypot(b.lon - a.lon, b.lat - a.lat)
    if length == 0:
        return math.hypot(p.lon - a.lon, p.lat - a.lat) <= ON_EDGE_DEGREES
    return abs(_cross(a, b, p)) <= ON_EDGE_DEGREES * length


def on_segment(p: LatLon, a: LatLon, b: LatLon) -> bool:
    return _collinear(a, b, p) and _within_box(p, a, b)


def _segments_meet(s: Segment, t: Segment) -> bool:
    (a, b), (c, d) = s, t
    if max(a.lat, b.lat) < min(c.lat, d.lat) or max(c.lat, d.lat) < min(a.lat, b.lat):
        return False  # boxes apart: the common case, without a cross product
    if max(a.lon, b.lon) < min(c.lon, d.lon) or max(c.lon, d.lon) < min(a.lon, b.lon):
        return False
    d1, d2 = _cross(c, d, a), _cross(c, d, b)
    d3, d4 = _cross(a, b, c), _cross(a, b, d)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return on_segment(a, c, d) or on_segment(b, c, d) or on_segment(c, a, b) or on_segment(d, a, b)


def _folds_back(s: Segment, t: Segment) -> bool:
    """Whether consecutive edges s = (a, b) and t = (b, c) overlap beyond their shared
    corner b: a spike that runs back along itself."""
    (a, b), (_, c) = s, t
    return _collinear(a, b, c) and (on_segment(c, a, b) or on_segment(a, b, c))


def _self_intersection(ring: Sequence[LatLon], budget: Budget) -> tuple[int, int] | None:
    """The first pair of edges (by index) that meet other than at a shared corner.

    A sweep along the polygon's longer extent: only edges whose ranges overlap on that
    axis are compared, which for a city polygon is a few per edge; `budget` bounds a
    polygon made to defeat it."""
    edges = [(ring[i], ring[i + 1]) for i in range(len(ring) - 1)]
    count = len(edges)
    for i in range(count):
        if _folds_back(edges[i], edges[(i + 1) % count]):
            return (i, (i + 1) % count)
    lats = [p.lat for p in ring]
    lons = [p.lon for p in ring]
    along_lat = max(lats) - min(lats) > max(lons) - min(lons)
    spans = [
        (min(a.lat, b.lat), max(a.lat, b.lat))
        if along_lat
        else (min(a.lon, b.lon), max(a.lon, b.lon))
        for a, b in edges
    ]
    active: list[int] = []
    for i in sorted(range(count), key=lambda i: spans[i][0]):
        start = spans[i][0]
        active = [j for j in active if spans[j][1] >= start]
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
