"""What the MQTT link puts on the core's queue (`LinkMessage`).

paho's network thread only moves bytes: inbound messages and connection changes travel
to the core as these, and validation and every state change happen there (one owner).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes
    retained: bool
    # For the acknowledgement after handling (`MqttLink.ack`): the packet id and QoS, and
    # the connection it came on (a packet id means nothing on a later connection).
    mid: int = 0
    qos: int = 0
    connection: int = 0
    # The broker sends it again (DUP): it was sent before and not acknowledged, e.g. the
    # connection dropped between our handling it and our acknowledgement arriving.
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class LinkUp:
    since: datetime


@dataclass(frozen=True, slots=True)
class LinkDown:
    reason: str


@dataclass(frozen=True, slots=True)
class Delivered:
    """The broker acknowledged the message with this id."""

    mid: int


@dataclass(frozen=True, slots=True)
class LinkTrouble:
    """Something the technician must hear about now (a denial): refresh `STATUS=`."""

    message: str


LinkMessage = Received | LinkUp | LinkDown | Delivered | LinkTrouble
