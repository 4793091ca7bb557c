"""An Alpha sign: memory files, TEXT with its codes, SMALL DOTS pictures, clock, replies.

Strict where a real sign is (a file must be in the memory table, a picture must match
its allocation, a checksum must add up) and it says why it refused something, so that
mistakes of the agent show up here rather than on a commune's board.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pygame

from firmware_bridge.convert import FrameConverter
from firmware_bridge.frame import PanelFrame
from firmware_bridge.protocols.alpha import commands
from firmware_bridge.protocols.alpha.packets import (
    BROADCAST,
    REPLY_TYPE,
    AlphaCommand,
    AlphaDecoder,
    AlphaPacket,
    build_packet,
)
from firmware_bridge.protocols.alpha_settings import MODES
from firmware_bridge.protocols.common import ColorModel
from firmware_bridge.simulator.alpha_text import Calls, draw_runs, text_runs
from firmware_bridge.simulator.stats import SignStats

PRIORITY_FILE = "0"
ENTRY_SIZE = 11
_MODE_NAMES = {code.decode("latin-1"): name for name, code in MODES.items()}


@dataclass(frozen=True, slots=True)
class MemoryFile:
    kind: str  # "A" TEXT, "B" STRING, "D" DOTS
    size: str  # 4 hex digits
    qualifier: str


@dataclass(frozen=True, slots=True)
class TextFile:
    position: str
    mode: str
    body: bytes


@dataclass
class AlphaSign:
    size: tuple[int, int]
    color: ColorModel = "tricolor"
    address: str = BROADCAST
    stats: SignStats = field(default_factory=SignStats)
    memory: dict[str, MemoryFile] = field(default_factory=dict)
    texts: dict[str, TextFile] = field(default_factory=dict)
    pictures: dict[str, PanelFrame] = field(default_factory=dict)
    strings: dict[str, bytes] = field(default_factory=dict)
    clock: dict[str, str] = field(default_factory=dict)  # "time", "date", "weekday"

    def __post_init__(self) -> None:
        self._decoder = AlphaDecoder()

    # --- the line --------------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> bytes:
        replies = b""
        for packet in self._decoder.feed(data, now):
            if self._for_me(packet):
                replies += self._packet(packet)
        self.stats.rejected += self._decoder.malformed
        self._decoder.malformed = 0
        self.stats.skipped_bytes = self._decoder.skipped
        return replies

    def _for_me(self, packet: AlphaPacket) -> bool:
        return packet.sign_type in ("Z", "?", "!") and packet.address in (BROADCAST, self.address)

    def _packet(self, packet: AlphaPacket) -> bytes:
        replies = b""
        for command in packet.commands:
            if command.checksum == "bad":
                self.stats.checksum_errors += 1
                self.stats.rejected += 1
                self.stats.problem(f"checksum mismatch in a {command.code!r} command: ignored")
                continue
            if command.checksum == "absent":
                self.stats.unchecked += 1
            self.stats.packets += 1
            replies += self._command(command)
        return replies

    def _command(self, command: AlphaCommand) -> bytes:
        data = command.data
        match command.code:
            case "A":
                self._write_text(data)
            case "I":
                self._write_picture(data)
            case "G" if data:
                self.strings[chr(data[0])] = data[1:]
            case "E":
                self._special(data)
            case "F" if data[:1] == b" ":
                return self._reply(b"E " + self.clock.get("time", "0000").encode())
            case code:
                self.stats.problem(f"command {code!r} is not simulated: ignored")
        return b""

    def _reply(self, body: bytes) -> bytes:
        packet = build_packet((body,), sign_type=REPLY_TYPE)
        return b"".join(part for part in packet.parts if isinstance(part, bytes))

    # --- commands ----------------------------------------------------------------------------

    def _special(self, data: bytes) -> None:
        function, value = data[:1], data[1:].decode("latin-1")
        if function == b"$":
            self._configure_memory(value)
        elif function in (b" ", b";", b"&"):
            key = {b" ": "time", b";": "date", b"&": "weekday"}[function]
            self.clock[key] = value
        elif function == b",":
            self.texts.clear()
            self.pictures.clear()
        else:
            self.stats.problem(f"special function {function!r} is not simulated: ignored")

    def _configure_memory(self, table: str) -> None:
        if len(table) % ENTRY_SIZE:
            self.stats.problem(f"memory table of {len(table)} characters: not 11 per file")
        self.memory.clear()  # a new table replaces the whole memory
        self.texts.clear()
        self.pictures.clear()
        for start in range(0, len(table) - ENTRY_SIZE + 1, ENTRY_SIZE):
            entry = table[start : start + ENTRY_SIZE]
            self.memory[entry[0]] = MemoryFile(entry[1], entry[3:7], entry[7:11])

    def _write_text(self, data: bytes) -> None:
        label = chr(data[0]) if data else "?"
        if len(data) < 4 or data[1] != 0x1B:
            self.stats.problem(f"TEXT file {label!r} without ESC, position and mode: ignored")
            return
        if not self._allocated(label, "A"):
            return
        mode_length = 2 if data[3:4] == b"n" else 1
        mode = data[3 : 3 + mode_length].decode("latin-1")
        body = data[3 + mode_length :]
        capacity = int(self.memory[label].size, 16) if label in self.memory else len(body)
        if len(body) > capacity:
            self.stats.problem(f"TEXT file {label!r}: {len(body)} bytes for {capacity}: cut")
        self.texts[label] = TextFile(chr(data[2]), _MODE_NAMES.get(mode, mode), body[:capacity])
        self.stats.frames += 1

    def _write_picture(self, data: bytes) -> None:
        label = chr(data[0]) if data else "?"
        try:
            height, width = int(data[1:3], 16), int(data[3:5], 16)
        except ValueError:
            self.stats.problem(f"picture {label!r}: size is not hex: ignored")
            return
        if not self._allocated(label, "D"):
            return
        allocated = self.memory.get(label)
        if allocated is not None and allocated.size != f"{height:02X}{width:02X}":
            self.stats.problem(
                f"picture {label!r} is {width}×{height} but memory holds {allocated.size} "
                "(HHWW): ignored"
            )
            return
        rows = data[5:].split(commands.CR)
        self.pictures[label] = self._picture(label, rows, (width, height))
        self.stats.frames += 1

    def _picture(self, label: str, rows: list[bytes], size: tuple[int, int]) -> PanelFrame:
        width, height = size
        pixels = bytearray()
        for y in range(height):
            row = rows[y] if y < len(rows) else b""
            if len(row) != width:
                self.stats.problem(f"picture {label!r} row {y}: {len(row)} dots for {width}")
            digits = row[:width].ljust(width, b"0")
            pixels += bytes(_dot_value(digit) for digit in digits)
        return PanelFrame(width, height, "tricolor", bytes(pixels))

    def _allocated(self, label: str, kind: str) -> bool:
        if label == PRIORITY_FILE and kind == "A":
            return True  # the priority TEXT file needs no allocation
        spec = self.memory.get(label)
        if spec is None or spec.kind != kind:
            self.stats.problem(f"file {label!r} is not in the memory table as {kind}: ignored")
            return False
        return True

    # --- what the sign shows -----------------------------------------------------------------

    def shown(self) -> PanelFrame:
        surface = pygame.Surface(self.size)
        label = self._showing()
        if label is not None:
            shown = self.texts[label]
            runs = text_runs(shown.body, self._calls(), self.stats.problem)
            draw_runs(surface, runs, held=shown.mode == "hold", problem=self.stats.problem)
        frame = FrameConverter("tricolor").convert(surface)
        if self.color == "mono":
            on = bytes(1 if value else 0 for value in range(256))
            return PanelFrame(frame.width, frame.height, "mono", frame.pixels.translate(on))
        return frame

    def _calls(self) -> Calls:
        return Calls(self.pictures, self.strings, self.clock.get("time", "0000"))

    def _showing(self) -> str | None:
        if PRIORITY_FILE in self.texts:
            return PRIORITY_FILE
        for label, spec in self.memory.items():
            if spec.kind == "A" and label in self.texts:
                return label
        return None


def _dot_value(digit: int) -> int:
    value = digit - 0x30
    return value if 0 <= value <= 3 else 3 if 0 <= value <= 9 else 0
