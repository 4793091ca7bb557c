"""`[serial]` keys of Alpha signs, and the sign's names for its display modes, colours
and line positions (with the codes the protocol sends for them). The protocol's code
(`alpha/`) is loaded only when a board opens its controller; this is loaded with the
config, so that a misspelt mode fails `validate` instead of reaching the sign.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from firmware_bridge.protocols.common import LineNeeds, ProtocolSettings, choice, one_of

AlphaPosition = Literal["fill", "middle", "top", "bottom"]

POSITIONS: dict[str, bytes] = {"middle": b" ", "top": b'"', "bottom": b"&", "fill": b"0"}
MODES: dict[str, bytes] = {
    "rotate": b"a",
    "hold": b"b",
    "flash": b"c",
    "roll_up": b"e",
    "roll_down": b"f",
    "roll_left": b"g",
    "roll_right": b"h",
    "wipe_up": b"i",
    "wipe_down": b"j",
    "wipe_left": b"k",
    "wipe_right": b"l",
    "scroll": b"m",
    "automode": b"o",
    "roll_in": b"p",
    "roll_out": b"q",
    "wipe_in": b"r",
    "wipe_out": b"s",
    "compressed_rotate": b"t",
    "explode": b"u",
    "twinkle": b"n0",
    "sparkle": b"n1",
    "snow": b"n2",
    "interlock": b"n3",
    "switch": b"n4",
    "slide": b"n5",
    "spray": b"n6",
    "starburst": b"n7",
    "welcome": b"n8",
    "slot_machine": b"n9",
}
COLORS: dict[str, bytes] = {
    "red": b"1",
    "green": b"2",
    "amber": b"3",
    "dim_red": b"4",
    "dim_green": b"5",
    "brown": b"6",
    "orange": b"7",
    "yellow": b"8",
    "rainbow": b"9",
    "autocolor": b"C",
}
# `auto`: hold text that fits the panel, rotate the rest (the agent's choice, not a code).
MODE_NAMES = ("auto", *MODES)


class AlphaSettings(ProtocolSettings):
    # Alpha packets are ASCII only, so 7 and 8 data bits both work (signs are met as 7E1,
    # 7E2 and 8N1); the signs are slow devices, set to 9600 baud or so.
    LINE: ClassVar[LineNeeds] = LineNeeds(
        max_baudrate=115_200,
        max_baudrate_why="Alpha signs run at 115200 baud at most (most at 9600)",
    )

    protocol: Literal["alpha"]
    alpha_mode: Annotated[str, one_of(MODE_NAMES, "an Alpha display mode")] = "auto"
    alpha_color: Annotated[str, one_of(tuple(COLORS), "an Alpha colour")] = "amber"
    alpha_position: Annotated[AlphaPosition, choice(AlphaPosition, "an Alpha line position")] = (
        "fill"
    )
    alpha_address: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{2}$")] = "00"
    alpha_packet_gap_s: Annotated[float, Field(ge=0, le=5)] = 0.15
