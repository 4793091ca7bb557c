"""Alpha command bodies: what goes between STX and ETX (the code letter and its data)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# The names of modes, colours and positions live with the settings that accept them.
from firmware_bridge.protocols.alpha_settings import COLORS, MODES, POSITIONS
from firmware_bridge.protocols.base import Pause

ESC = b"\x1b"
COLOR_CODE = b"\x1c"
CALL_PICTURE = b"\x14"
CALL_STRING = b"\x10"
CR = b"\r"
DOTS_HEADER_PAUSE_S = 0.1  # the sign prepares the picture after its size header

# Picture dot digits: 0 off, 1 red, 2 green, 3 amber — the tricolor pixel values as text.
DOT_DIGITS = bytes(0x30 + value if value < 10 else 0x30 for value in range(256))


def write_text(label: bytes, position: str, mode: str, body: bytes) -> bytes:
    return b"A" + label + ESC + POSITIONS[position] + MODES[mode] + body


def colored(text: str, color: str | None) -> bytes:
    prefix = COLOR_CODE + COLORS[color] if color is not None else b""
    return prefix + text.encode("ascii")


def call_picture(label: bytes) -> bytes:
    return CALL_PICTURE + label


def small_dots(label: bytes, rows: Sequence[bytes]) -> tuple[bytes | Pause, ...]:
    """Write SMALL DOTS: rows of pixel values (0 off, 1 red, 2 green, 3 amber)."""
    height, width = len(rows), len(rows[0]) if rows else 0
    header = b"I" + label + f"{height:02X}{width:02X}".encode()
    picture = b"".join(row.translate(DOT_DIGITS) + CR for row in rows)
    return (header, Pause(DOTS_HEADER_PAUSE_S), picture)


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One entry of the memory configuration (11 characters)."""

    label: bytes
    kind: bytes  # b"A" TEXT, b"B" STRING, b"D" DOTS
    size: str  # 4 hex: bytes for TEXT and STRING, HHWW for DOTS
    qualifier: str  # TEXT: start/stop times ("FF00" = always); DOTS: "1000" mono, "2000" tri

    def encode(self) -> bytes:
        return self.label + self.kind + b"U" + f"{self.size}{self.qualifier}".encode()


def text_file(label: bytes, capacity: int) -> FileSpec:
    return FileSpec(label, b"A", f"{capacity:04X}", "FF00")


def picture_file(label: bytes, size: tuple[int, int], tricolor: bool) -> FileSpec:
    width, height = size
    return FileSpec(label, b"D", f"{height:02X}{width:02X}", "2000" if tricolor else "1000")


def memory_config(files: Sequence[FileSpec]) -> bytes:
    return b"E$" + b"".join(spec.encode() for spec in files)


def set_time(now: datetime) -> bytes:
    return b"E " + now.strftime("%H%M").encode()


def set_date(now: datetime) -> bytes:
    return b"E;" + now.strftime("%m%d%y").encode()


def set_weekday(now: datetime) -> bytes:
    return b"E&" + str(now.isoweekday() % 7 + 1).encode()  # the sign counts 1 = Sunday


def read_time() -> bytes:
    return b"F "
