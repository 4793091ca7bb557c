"""Adalight: `Ada · hi · lo · (hi ^ lo ^ 55) · RGB × N`, hi:lo = N − 1.

LEDs in row-major order. Devices print `Ada\\n` at boot and about once a second while
idle, which is how `probe` recognises one.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_bridge.frame import PanelFrame
from firmware_bridge.protocols.adalight_settings import AdalightSettings
from firmware_bridge.protocols.base import Content, FrameOnly, LinkCheck, Packet

MAGIC = b"Ada"
MAX_LEDS = 0x10000
GREETING_LISTEN_S = 1.5  # the greeting comes about once a second


def frame_bytes(rgb: bytes) -> bytes:
    leds = len(rgb) // 3
    if not 1 <= leds <= MAX_LEDS:
        raise ValueError(f"Adalight drives 1-{MAX_LEDS} LEDs, not {leds}")
    hi, lo = divmod(leds - 1, 256)
    return MAGIC + bytes((hi, lo, hi ^ lo ^ 0x55)) + rgb[: leds * 3]


@dataclass(frozen=True, slots=True)
class AdalightFrame:
    rgb: bytes


class AdalightDecoder:
    """Frames out of a byte stream; any bytes are survived, garbage is skipped."""

    def __init__(self) -> None:
        self.skipped = 0
        self._buffer = bytearray()

    def feed(self, data: bytes, now: float = 0.0) -> list[AdalightFrame]:
        self._buffer += data
        frames: list[AdalightFrame] = []
        while (frame := self._next()) is not None:
            frames.append(frame)
        return frames

    def _next(self) -> AdalightFrame | None:
        buffer = self._buffer
        while True:
            start = buffer.find(MAGIC)
            if start < 0:
                keep = 2 if buffer.endswith(b"Ad") else 1 if buffer.endswith(b"A") else 0
                self._skip(len(buffer) - keep)
                return None
            self._skip(start)
            if len(buffer) < 6:
                return None
            hi, lo, check = buffer[3], buffer[4], buffer[5]
            if hi ^ lo ^ 0x55 != check:
                self._skip(1)
                continue
            end = 6 + ((hi << 8 | lo) + 1) * 3
            if len(buffer) < end:
                return None
            frame = AdalightFrame(bytes(buffer[6:end]))
            del buffer[:end]
            return frame

    def _skip(self, count: int) -> None:
        self.skipped += count
        del self._buffer[:count]


class AdalightProtocol(FrameOnly):
    name = "adalight"

    def __init__(self, settings: AdalightSettings) -> None:
        super().__init__(settings)
        leds = settings.panel_width * settings.panel_height
        if leds > MAX_LEDS:
            self.warnings.append(
                f"a {leds}-LED panel is beyond Adalight's {MAX_LEDS}: the rest stays dark"
            )

    def encode(self, content: Content) -> list[Packet]:
        if not isinstance(content, PanelFrame):
            return []
        return [Packet((frame_bytes(content.rgb()[: MAX_LEDS * 3]),))]

    def link_check(self) -> LinkCheck:
        def greeting(reply: bytes) -> str | None:
            return "an Adalight device said hello" if MAGIC in reply else None

        return LinkCheck(b"", greeting, min_listen_s=GREETING_LISTEN_S)


def create(settings: AdalightSettings) -> AdalightProtocol:
    return AdalightProtocol(settings)
