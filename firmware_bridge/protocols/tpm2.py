"""TPM2 over serial: `C9 · type · size (2 bytes, big-endian) · payload · 36`, no checksum.

Payload: RGB, 3 bytes per pixel, row-major; mono panels get one bit per pixel (rows
padded to whole bytes: 512 bytes for 128×32); tricolor frames go as RGB of the palette.
The controller may answer `AC` after each good frame; the writer honours it.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_bridge.frame import PanelFrame, pack_bits
from firmware_bridge.protocols.base import Content, FrameOnly, LinkCheck, Packet
from firmware_bridge.protocols.tpm2_settings import Tpm2Settings

FRAME_START = 0xC9
FRAME_END = 0x36
DATA, COMMAND, RESPONSE = 0xDA, 0xC0, 0xAA
KINDS = frozenset((DATA, COMMAND, RESPONSE))
ACK = b"\xac"
MAX_PAYLOAD = 0xFFFF


def frame_bytes(payload: bytes, kind: int = DATA) -> bytes:
    if not 1 <= len(payload) <= MAX_PAYLOAD:
        raise ValueError(f"a TPM2 payload is 1-{MAX_PAYLOAD} bytes, not {len(payload)}")
    return bytes((FRAME_START, kind)) + len(payload).to_bytes(2, "big") + payload + b"\x36"


def payload_of(frame: PanelFrame) -> bytes:
    return pack_bits(frame) if frame.color == "mono" else frame.rgb()


@dataclass(frozen=True, slots=True)
class Tpm2Packet:
    kind: int
    payload: bytes


class Tpm2Decoder:
    """Frames out of a byte stream: survives any bytes, resynchronises on the next start
    byte after garbage, and drops a partial frame after `gap_s` of silence (a cut frame
    must not swallow the next one)."""

    def __init__(self, gap_s: float | None = None) -> None:
        self.gap_s = gap_s
        self.skipped = 0  # bytes that were not part of a good frame
        self._buffer = bytearray()
        self._last: float | None = None

    def feed(self, data: bytes, now: float = 0.0) -> list[Tpm2Packet]:
        if self._buffer and self._silent_since(now):
            self.skipped += len(self._buffer)
            self._buffer.clear()
        self._last = now
        self._buffer += data
        packets: list[Tpm2Packet] = []
        while (packet := self._next()) is not None:
            packets.append(packet)
        return packets

    def _silent_since(self, now: float) -> bool:
        return self.gap_s is not None and self._last is not None and now - self._last > self.gap_s

    def _next(self) -> Tpm2Packet | None:
        buffer = self._buffer
        while True:
            start = buffer.find(FRAME_START)
            if start < 0:
                self._skip(len(buffer))
                return None
            self._skip(start)
            if len(buffer) < 4:
                return None
            size = int.from_bytes(buffer[2:4], "big")
            end = 4 + size
            if buffer[1] not in KINDS or size == 0:
                self._skip(1)
                continue
            if len(buffer) <= end:
                return None
            if buffer[end] != FRAME_END:
                self._skip(1)  # a false start: look again from the next byte
                continue
            packet = Tpm2Packet(buffer[1], bytes(buffer[4:end]))
            del buffer[: end + 1]
            return packet

    def _skip(self, count: int) -> None:
        self.skipped += count
        del self._buffer[:count]


class Tpm2Protocol(FrameOnly):
    name = "tpm2"

    def __init__(self, settings: Tpm2Settings) -> None:
        super().__init__(settings)
        width, height = settings.size
        row = (width + 7) // 8 if settings.color == "mono" else width * 3
        self._rows = min(height, MAX_PAYLOAD // row)
        if self._rows < height:
            self.warnings.append(
                f"a {width}×{height} {settings.color} frame needs {row * height} bytes; TPM2 "
                f"carries {MAX_PAYLOAD}: only the top {self._rows} rows are sent"
            )

    def encode(self, content: Content) -> list[Packet]:
        if not isinstance(content, PanelFrame):
            return []  # never asked: draws_text is False
        payload = payload_of(content)
        payload = payload[: len(payload) * self._rows // content.height]
        return [Packet((frame_bytes(payload),), ack=ACK)]

    def link_check(self) -> LinkCheck:
        """One black pixel: harmless, and a controller that acknowledges frames says so."""

        def acknowledged(reply: bytes) -> str | None:
            return "a TPM2 controller acknowledged a frame" if ACK in reply else None

        return LinkCheck(
            frame_bytes(bytes(3)),
            acknowledged,
            silence_is_fine=(
                "no acknowledgement came (many TPM2 receivers send none): only the port "
                "itself was checked"
            ),
        )


def create(settings: Tpm2Settings) -> Tpm2Protocol:
    return Tpm2Protocol(settings)
