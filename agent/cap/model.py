"""A CAP 1.2 message as the board uses it: typed, immutable, already validated.

Values keep CAP's own spelling ("Actual", "Severe"), so that what an alerting authority
wrote can be recognised in events and logs; mapping onto the board's JSON alert is the
integrator's job. Only `parse_cap` (agent/cap/parse.py) builds these from bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple

Status = Literal["Actual", "Exercise", "System", "Test", "Draft"]
MsgType = Literal["Alert", "Update", "Cancel", "Ack", "Error"]
Scope = Literal["Public", "Restricted", "Private"]
Category = Literal[
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
]
ResponseType = Literal[
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"
]
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]

DEFAULT_LANGUAGE = "en-US"  # CAP 1.2 §3.2.2: the language of an <info> that names none


@dataclass(frozen=True, slots=True)
class LatLon:
    """A WGS-84 point in decimal degrees (CAP writes it "lat,lon")."""

    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Circle:
    centre: LatLon
    radius_km: float


@dataclass(frozen=True, slots=True)
class Polygon:
    """A closed ring: the first point is repeated as the last, as CAP requires."""

    points: tuple[LatLon, ...]


@dataclass(frozen=True, slots=True)
class ValuePair:
    """A `<geocode>`, `<parameter>` or `<eventCode>`: a valueName and its value."""

    name: str
    value: str


class Reference(NamedTuple):
    """One `sender,identifier,sent` triplet of `<references>`: an earlier message (a
    tuple, so `sender, identifier, sent = reference` reads as CAP writes it)."""

    sender: str
    identifier: str
    sent: datetime


@dataclass(frozen=True, slots=True)
class Area:
    description: str
    polygons: tuple[Polygon, ...] = ()
    circles: tuple[Circle, ...] = ()
    geocodes: tuple[ValuePair, ...] = ()
    altitude: float | None = None
    ceiling: float | None = None


@dataclass(frozen=True, slots=True)
class Resource:
    description: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    # The decoded bytes of `<derefUri>`; its `<digest>`, when given, was checked.
    content: bytes | None = None
    digest: str | None = None  # SHA-1, lower-case hex


@dataclass(frozen=True, slots=True)
class Info:
    categories: tuple[Category, ...]
    event: str
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    language: str = DEFAULT_LANGUAGE
    response_types: tuple[ResponseType, ...] = ()
    audience: str | None = None
    event_codes: tuple[ValuePair, ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[ValuePair, ...] = ()
    resources: tuple[Resource, ...] = ()
    areas: tuple[Area, ...] = ()

    @property
    def category(self) -> Category:
        """The first category (CAP allows several; one is what a screen shows)."""
        return self.categories[0]


@dataclass(frozen=True, slots=True)
class CapMessage:
    identifier: str
    sender: str
    sent: datetime  # timezone-aware, one-second resolution
    status: Status
    msg_type: MsgType
    scope: Scope
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    codes: tuple[str, ...] = ()
    note: str | None = None
    references: tuple[Reference, ...] = ()
    incidents: str | None = None
    infos: tuple[Info, ...] = ()
