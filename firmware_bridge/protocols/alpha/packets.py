"""Alpha Sign Communications Protocol framing: packets out, and packets out of a stream.

`00×5 · SOH · type · address (2) · STX · command · data · ETX · checksum (4 hex) · EOT`.
The checksum is the 16-bit sum of the bytes from STX through ETX. Several commands may
be nested (`STX … ETX CCCC` repeated); the decoder reads them, the encoder sends one
command per packet, which keeps every packet short enough to resend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from firmware_bridge.protocols.base import Packet, Pause

NUL, SOH, STX, ETX, EOT = 0x00, 0x01, 0x02, 0x03, 0x04
WAKE = bytes(5)  # NULs let the sign lock on to the baud rate
ALL_SIGNS = "Z"
BROADCAST = "00"
REPLY_TYPE = "0"
# A 255×255 picture (one digit per dot, a CR per row) plus its header, with room to spare.
MAX_PACKET = 70_000
GAP_ENDS_PACKET_S = 1.0  # signs drop a packet after this much silence inside it

Verdict = Literal["ok", "bad", "absent"]


def checksum(block: bytes) -> bytes:
    """Four uppercase hex digits: the 16-bit sum of `block` (STX … ETX inclusive)."""
    return f"{sum(block) & 0xFFFF:04X}".encode()


def build_packet(
    command: Sequence[bytes | Pause],
    *,
    sign_type: str = ALL_SIGNS,
    address: str = BROADCAST,
    gap_after_s: float = 0.0,
) -> Packet:
    """One command (its parts: bytes, and pauses where the sign needs time) framed as a
    packet with its checksum."""
    data = b"".join(part for part in command if isinstance(part, bytes))
    trailer = bytes((ETX,)) + checksum(bytes((STX,)) + data + bytes((ETX,))) + bytes((EOT,))
    header = WAKE + bytes((SOH,)) + f"{sign_type}{address}".encode() + bytes((STX,))
    parts: list[bytes | Pause] = [header, *command, trailer]
    return Packet(tuple(_merge_bytes(parts)), gap_after_s=gap_after_s)


def _merge_bytes(parts: list[bytes | Pause]) -> list[bytes | Pause]:
    merged: list[bytes | Pause] = []
    for part in parts:
        if isinstance(part, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] += part
        elif not isinstance(part, bytes) or part:
            merged.append(part)
    return merged


@dataclass(frozen=True, slots=True)
class AlphaCommand:
    code: str  # "A" write TEXT, "E" special function, "I" SMALL DOTS…
    data: bytes  # after the command code, up to ETX
    checksum: Verdict


@dataclass(frozen=True, slots=True)
class AlphaPacket:
    sign_type: str
    address: str
    commands: tuple[AlphaCommand, ...]


class AlphaDecoder:
    """Packets out of a byte stream. Survives any bytes: resynchronises on the next SOH,
    drops a packet cut by more than `gap_s` of silence, and bounds what it holds."""

    def __init__(self, gap_s: float | None = GAP_ENDS_PACKET_S) -> None:
        self.gap_s = gap_s
        self.skipped = 0  # bytes outside any packet (NUL wake-ups are not counted)
        self.malformed = 0  # packets that could not be read
        self._buffer = bytearray()
        self._last: float | None = None

    def feed(self, data: bytes, now: float = 0.0) -> list[AlphaPacket]:
        if self._buffer and self._silent_since(now):
            self.malformed += 1
            self._buffer.clear()
        self._last = now
        self._buffer += data
        packets: list[AlphaPacket] = []
        while (body := self._next_body()) is not None:
            packet = parse_body(body)
            if packet is None:
                self.malformed += 1
            else:
                packets.append(packet)
        return packets

    def _silent_since(self, now: float) -> bool:
        return self.gap_s is not None and self._last is not None and now - self._last > self.gap_s

    def _next_body(self) -> bytes | None:
        buffer = self._buffer
        while True:
            start = buffer.find(SOH)
            if start < 0:
                self._skip(len(buffer))
                return None
            self._skip(start)
            end = buffer.find(EOT, 1)
            restart = buffer.find(SOH, 1, end if end >= 0 else len(buffer))
            if restart >= 0:  # a new packet began before this one ended: it was cut
                self.malformed += 1
                del buffer[:restart]
                continue
            if end < 0:
                if len(buffer) > MAX_PACKET:
                    self.malformed += 1
                    buffer.clear()
                return None
            body = bytes(buffer[1:end])
            del buffer[: end + 1]
            return body

    def _skip(self, count: int) -> None:
        self.skipped += count - self._buffer[:count].count(NUL)
        del self._buffer[:count]


def parse_body(body: bytes) -> AlphaPacket | None:
    """What lies between SOH and EOT; None when it is not a packet."""
    if len(body) < 5 or body[3] != STX or not all(0x20 < c < 0x7F for c in body[:3]):
        return None
    commands = []
    for block in body[4:].split(bytes((STX,))):
        command = _parse_block(block)
        if command is None:
            return None
        commands.append(command)
    return AlphaPacket(chr(body[0]), body[1:3].decode(), tuple(commands))


def _parse_block(block: bytes) -> AlphaCommand | None:
    if not block or not 0x20 < block[0] < 0x7F:
        return None
    code = chr(block[0])
    etx = block.find(ETX)
    if etx < 0:
        return AlphaCommand(code, block[1:], "absent")
    sent = block[etx + 1 :]
    expected = checksum(bytes((STX,)) + block[: etx + 1])
    return AlphaCommand(code, block[1:etx], "ok" if sent == expected else "bad")
