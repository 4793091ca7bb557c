"""A TPM2 LED matrix receiver: shows each data frame, answers AC after each good one."""

from __future__ import annotations

from firmware_bridge.frame import PanelFrame, blank, unpack_bits
from firmware_bridge.protocols.tpm2 import ACK, DATA, Tpm2Decoder
from firmware_bridge.simulator.stats import SignStats

CUT_FRAME_GAP_S = 0.5  # silence that ends a frame cut short (unplugged mid-frame)


class Tpm2Panel:
    def __init__(self, size: tuple[int, int], *, ack: bool = True) -> None:
        self.size = size
        self.ack = ack
        self.stats = SignStats()
        self.last_payload_size = 0
        self._decoder = Tpm2Decoder(gap_s=CUT_FRAME_GAP_S)
        self._shown = blank(size, "rgb")

    def receive(self, data: bytes, now: float) -> bytes:
        replies = b""
        for packet in self._decoder.feed(data, now):
            if packet.kind != DATA:
                self.stats.problem(f"TPM2 packet type {packet.kind:02X} ignored (not simulated)")
                continue
            self.stats.packets += 1
            self.stats.frames += 1
            self.last_payload_size = len(packet.payload)
            self._shown = self._frame(packet.payload)
            replies += ACK if self.ack else b""
        self.stats.skipped_bytes = self._decoder.skipped
        return replies

    def shown(self) -> PanelFrame:
        return self._shown

    def _frame(self, payload: bytes) -> PanelFrame:
        width, height = self.size
        rgb_size, mono_size = width * height * 3, (width + 7) // 8 * height
        if len(payload) == rgb_size:
            return PanelFrame(width, height, "rgb", payload)
        if len(payload) == mono_size:
            return unpack_bits(payload, self.size)
        self.stats.problem(
            f"a {len(payload)}-byte frame does not fit this {width}×{height} panel "
            f"(RGB {rgb_size} bytes, mono {mono_size}): shown cut or padded as RGB"
        )
        return PanelFrame(width, height, "rgb", payload[:rgb_size].ljust(rgb_size, b"\0"))
