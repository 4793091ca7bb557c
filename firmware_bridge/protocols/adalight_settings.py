"""`[serial]` keys of Adalight devices: only the ones every protocol has. The protocol's
code (`adalight.py`) is loaded only when a board opens its controller."""

from __future__ import annotations

from typing import ClassVar, Literal

from firmware_bridge.protocols.common import LineNeeds, ProtocolSettings


class AdalightSettings(ProtocolSettings):
    LINE: ClassVar[LineNeeds] = LineNeeds(
        data_bits=frozenset((8,)),
        data_bits_why="Adalight frames are binary: the line needs 8 data bits",
    )

    protocol: Literal["adalight"]
