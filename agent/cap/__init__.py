"""CAP 1.2 (OASIS Common Alerting Protocol) for the board: safe parsing, validation by
CAP's rules, a typed message, the choice of `<info>`, and area targeting. Pure: no I/O,
no clock, nothing of the core; imported only when a CAP message arrives (it costs
defusedxml and xml.etree, which nothing else at start needs).

    if looks_like_cap(payload):
        message = parse_cap(payload)            # Problems, naming element paths
        decision = target_message(message, "vi", board_codes, board_location)
"""

from __future__ import annotations

from agent.cap.choose import choose_info, language_matches, risk_level
from agent.cap.document import CAP_NAMESPACE, looks_like_cap
from agent.cap.geometry import circle_contains, distance_km, polygon_contains
from agent.cap.model import (
    Area,
    CapMessage,
    Circle,
    Info,
    LatLon,
    Polygon,
    Reference,
    Resource,
    ValuePair,
)
from agent.cap.parse import parse_cap
from agent.cap.targeting import Targeting, covers, has_geography, target_info, target_message
from agent.cap.times import format_cap_time, parse_cap_time

__all__ = [
    "CAP_NAMESPACE",
    "Area",
    "CapMessage",
    "Circle",
    "Info",
    "LatLon",
    "Polygon",
    "Reference",
    "Resource",
    "Targeting",
    "ValuePair",
    "choose_info",
    "circle_contains",
    "covers",
    "distance_km",
    "format_cap_time",
    "has_geography",
    "language_matches",
    "looks_like_cap",
    "parse_cap",
    "parse_cap_time",
    "polygon_contains",
    "risk_level",
    "target_info",
    "target_message",
]
