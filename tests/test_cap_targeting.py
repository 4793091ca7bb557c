"""Area targeting: geocodes, polygons and circles, on both sides of each boundary, and
the decision for a whole info and message."""

from __future__ import annotations

import math

import pytest

from agent.cap import (
    Area,
    CapMessage,
    Circle,
    Info,
    LatLon,
    Polygon,
    ValuePair,
    covers,
    distance_km,
    parse_cap,
    target_info,
    target_message,
)
from agent.cap.geometry import EARTH_RADIUS_KM
from tests.cap_documents import edited, example

HOAN_KIEM = LatLon(21.0285, 105.8542)  # central Hanoi: inside the storm polygon
HAI_PHONG = LatLon(20.8449, 106.6881)  # outside every Hanoi area
KM_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_KM / 180
NO_CODES: frozenset[str] = frozenset()


def square(south: float, west: float, north: float, east: float) -> Polygon:
    corners = [(south, west), (north, west), (north, east), (south, east), (south, west)]
    return Polygon(tuple(LatLon(lat, lon) for lat, lon in corners))


SQUARE = square(21.00, 105.80, 21.10, 105.90)
# An L: the square without its north-east quarter.
L_SHAPE = Polygon(
    tuple(
        LatLon(lat, lon)
        for lat, lon in [
            (21.00, 105.80),
            (21.10, 105.80),
            (21.10, 105.85),
            (21.05, 105.85),
            (21.05, 105.90),
            (21.00, 105.90),
            (21.00, 105.80),
        ]
    )
)
EPSILON = 1e-6  # about 11 cm


@pytest.mark.parametrize(
    ("polygon", "point", "inside"),
    [
        (SQUARE, LatLon(21.05, 105.85), True),
        (SQUARE, LatLon(21.10 - EPSILON, 105.85), True),  # just inside the north edge
        (SQUARE, LatLon(21.10 + EPSILON, 105.85), False),  # just outside it
        (SQUARE, LatLon(21.10, 105.85), True),  # on the edge: covered
        (SQUARE, LatLon(21.05, 105.80 + EPSILON), True),  # west edge, inside
        (SQUARE, LatLon(21.05, 105.80 - EPSILON), False),
        (SQUARE, LatLon(21.00 + EPSILON, 105.85), True),  # south edge
        (SQUARE, LatLon(21.00 - EPSILON, 105.85), False),
        (SQUARE, LatLon(21.05, 105.90 - EPSILON), True),  # east edge
        (SQUARE, LatLon(21.05, 105.90 + EPSILON), False),
        (SQUARE, LatLon(21.00, 105.80), True),  # a corner
        (SQUARE, LatLon(21.10 + EPSILON, 105.90 + EPSILON), False),  # beyond a corner
        (L_SHAPE, LatLon(21.075, 105.875), False),  # in the notch
        (L_SHAPE, LatLon(21.05 - EPSILON, 105.875), True),  # just below the notch
        (L_SHAPE, LatLon(21.075, 105.85 - EPSILON), True),  # just west of it
        (L_SHAPE, LatLon(21.075, 105.85 + EPSILON), False),
    ],
)
def test_point_in_polygon(polygon: Polygon, point: LatLon, inside: bool) -> None:
    assert covers(Area("vùng", polygons=(polygon,)), NO_CODES, point) is inside


LONG_BIEN = LatLon(21.0430, 105.8620)
SIX_KM = Circle(LONG_BIEN, 6.0)


def north_of(point: LatLon, km: float) -> LatLon:
    return LatLon(point.lat + km / KM_PER_DEGREE_LAT, point.lon)


@pytest.mark.parametrize(
    ("point", "inside"),
    [
        (LONG_BIEN, True),
        (north_of(LONG_BIEN, 5.99), True),
        (north_of(LONG_BIEN, 6.01), False),
        (north_of(LONG_BIEN, -5.99), True),
        (north_of(LONG_BIEN, -6.01), False),
        (
            LatLon(21.0430, 105.8620 + 5.99 / (KM_PER_DEGREE_LAT * math.cos(math.radians(21.043)))),
            True,
        ),
        (
            LatLon(21.0430, 105.8620 + 6.01 / (KM_PER_DEGREE_LAT * math.cos(math.radians(21.043)))),
            False,
        ),
    ],
)
def test_point_in_circle_by_great_circle_distance(point: LatLon, inside: bool) -> None:
    assert covers(Area("quanh Long Biên", circles=(SIX_KM,)), NO_CODES, point) is inside


def test_a_circle_of_radius_zero_covers_only_its_centre() -> None:
    area = Area("tâm chấn", circles=(Circle(LONG_BIEN, 0.0),))
    assert covers(area, NO_CODES, LONG_BIEN)
    assert not covers(area, NO_CODES, north_of(LONG_BIEN, 0.01))


def test_haversine_distances() -> None:
    assert distance_km(LatLon(0, 0), LatLon(90, 0)) == pytest.approx(math.pi / 2 * EARTH_RADIUS_KM)
    assert distance_km(LatLon(0, 0), LatLon(0, 180)) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    assert distance_km(HOAN_KIEM, HOAN_KIEM) == 0.0
    # A degree of longitude shrinks with latitude; at 60° it is half.
    assert distance_km(LatLon(60, 0), LatLon(60, 0.001)) == pytest.approx(
        0.5 * distance_km(LatLon(0, 0), LatLon(0, 0.001)), rel=1e-3
    )


GEOCODED = Area("Phường Hoàng Mai", geocodes=(ValuePair("MaDVHC", "00301"),))


@pytest.mark.parametrize(
    ("codes", "covered"),
    [
        (frozenset({"00301"}), True),
        (frozenset({"00316", "00301"}), True),
        (frozenset({"00302"}), False),
        (frozenset({"0030"}), False),  # no prefix match
        (frozenset({"MaDVHC"}), False),  # the valueName is not a code
        (NO_CODES, False),
    ],
)
def test_geocode_match(codes: frozenset[str], covered: bool) -> None:
    assert covers(GEOCODED, codes, HOAN_KIEM) is covered


def test_a_geocode_or_a_shape_is_enough() -> None:
    area = Area("cả hai", polygons=(SQUARE,), geocodes=(ValuePair("MaDVHC", "00301"),))
    assert covers(area, {"00301"}, HAI_PHONG)  # code matches, location outside
    assert covers(area, {"99999"}, LatLon(21.05, 105.85))  # location inside, code not
    assert not covers(area, {"99999"}, HAI_PHONG)
    assert not covers(area, {"99999"}, None)


def test_an_area_in_words_only_covers_every_board() -> None:
    assert covers(Area("U.S. nationwide and interests worldwide"), {"00301"}, HAI_PHONG)


def info_with(*areas: Area, language: str = "vi-VN") -> Info:
    return Info(
        categories=("Met",),
        event="Bão",
        urgency="Immediate",
        severity="Extreme",
        certainty="Observed",
        language=language,
        areas=areas,
    )


@pytest.mark.parametrize(
    ("areas", "codes", "location", "shown", "untargeted"),
    [
        ((), NO_CODES, None, True, False),  # no areas: everywhere
        ((), {"00301"}, HAI_PHONG, True, False),
        ((Area("vùng", polygons=(SQUARE,)),), NO_CODES, None, True, True),  # cannot tell
        ((GEOCODED,), NO_CODES, None, True, True),
        ((Area("chỉ lời"),), NO_CODES, None, True, False),  # nothing to tell with
        ((Area("vùng", polygons=(SQUARE,)),), NO_CODES, LatLon(21.05, 105.85), True, False),
        ((Area("vùng", polygons=(SQUARE,)),), NO_CODES, HAI_PHONG, False, False),
        ((Area("vùng", polygons=(SQUARE,)),), {"00301"}, None, False, False),  # codes, no shape
        ((Area("vùng", polygons=(SQUARE,)), GEOCODED), {"00301"}, None, True, False),
        ((GEOCODED,), {"00302"}, None, False, False),
    ],
)
def test_target_info(
    areas: tuple[Area, ...],
    codes: frozenset[str],
    location: LatLon | None,
    shown: bool,
    untargeted: bool,
) -> None:
    decision = target_info(info_with(*areas), codes, location)
    assert (decision.shown, decision.untargeted) == (shown, untargeted)
    assert (decision.info is not None) is shown


def test_target_message_shows_the_info_meant_for_the_board_in_its_language() -> None:
    north = Area("phía bắc", polygons=(square(21.05, 105.80, 21.10, 105.90),))
    south = Area("phía nam", polygons=(square(21.00, 105.80, 21.05 - EPSILON, 105.90),))
    message = CapMessage(
        identifier="HN-1",
        sender="pctt@hanoi.gov.vn",
        sent=parse_cap(example("vn-flood")).sent,
        status="Actual",
        msg_type="Alert",
        scope="Public",
        infos=(
            info_with(north, language="vi-VN"),
            info_with(north, language="en-US"),
            info_with(south, language="en-US"),
        ),
    )
    in_the_north = target_message(message, "vi", NO_CODES, LatLon(21.07, 105.85))
    assert in_the_north.info is message.infos[0]
    english_board = target_message(message, "en", NO_CODES, LatLon(21.07, 105.85))
    assert english_board.info is message.infos[1]
    # The south has only an English info: it is shown there, whatever the board's language.
    in_the_south = target_message(message, "vi", NO_CODES, LatLon(21.02, 105.85))
    assert in_the_south.shown
    assert in_the_south.info is message.infos[2]
    assert not target_message(message, "vi", NO_CODES, HAI_PHONG).shown


@pytest.mark.parametrize(
    ("name", "codes", "location", "shown", "untargeted"),
    [
        ("vn-storm-bao-so-3", NO_CODES, HOAN_KIEM, True, False),  # polygon
        ("vn-storm-bao-so-3", NO_CODES, HAI_PHONG, False, False),
        ("vn-storm-bao-so-3", {"00070"}, HAI_PHONG, True, False),  # geocode
        ("vn-storm-bao-so-3", NO_CODES, None, True, True),
        ("vn-flood", NO_CODES, LONG_BIEN, True, False),  # circle
        ("vn-flood", NO_CODES, HOAN_KIEM, True, False),  # 2 km away
        ("vn-flood", NO_CODES, LatLon(21.0285, 105.70), False, False),  # ~17 km west
        ("vn-epidemic", {"00316"}, None, True, False),  # geocode only
        ("vn-epidemic", {"00070"}, HOAN_KIEM, False, False),
        ("spec-homeland-security", {"00070"}, HAI_PHONG, True, False),  # areaDesc only
        ("spec-thunderstorm", NO_CODES, LatLon(38.47, -119.95), True, False),
        ("spec-thunderstorm", {"006109"}, HOAN_KIEM, True, False),
        ("spec-thunderstorm", NO_CODES, HOAN_KIEM, False, False),
    ],
)
def test_real_documents_target_boards(
    name: str,
    codes: frozenset[str],
    location: LatLon | None,
    shown: bool,
    untargeted: bool,
) -> None:
    decision = target_message(parse_cap(example(name)), "vi", codes, location)
    assert (decision.shown, decision.untargeted) == (shown, untargeted)


def test_a_message_without_info_is_not_shown() -> None:
    text = example("vn-storm-bao-so-3-cancel").decode()
    bare = parse_cap((text[: text.index("  <info>")] + "</alert>\n").encode())
    assert not target_message(bare, "vi", NO_CODES, None).shown


def test_the_storm_polygon_edge_from_a_document() -> None:
    # The storm's first edge runs from (21.12, 105.78) to (21.08, 105.92); its midpoint is
    # on the boundary, a hair north of it outside, a hair south inside.
    message = parse_cap(
        edited(
            "vn-storm-bao-so-3",
            "<value>00070</value>",
            "<value>khong-dung</value>",
            2,
        )
    )
    mid = LatLon(21.10, 105.85)
    for point, shown in [
        (mid, True),
        (LatLon(mid.lat + EPSILON, mid.lon), False),
        (LatLon(mid.lat - EPSILON, mid.lon), True),
    ]:
        assert target_message(message, "vi", NO_CODES, point).shown is shown
