"""Everything the bridge reads from `[serial]`, with defaults for the optional keys.

`agent.config.SerialConfig` holds the contract's keys; the optional ones below are read
with `getattr` so that they take effect as soon as the core's config gains them, and the
defaults apply until then (and whenever a key is left out).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

ColorModel = Literal["mono", "tricolor", "rgb"]
Parity = Literal["none", "even", "odd"]
AckPolicy = Literal["auto", "wait", "off"]
Dither = Literal["none", "ordered"]


@dataclass(frozen=True, slots=True)
class BridgeSettings:
    port: str
    protocol: str
    panel_width: int
    panel_height: int
    baudrate: int = 115200
    color: ColorModel = "mono"
    # Line format: Alpha signs are met as 7E1, 7E2 and 8N1.
    bytesize: Literal[7, 8] = 8
    parity: Parity = "none"
    stopbits: Literal[1, 2] = 1
    # Added to a packet's transmission time: a write stuck longer means the line is dead.
    write_timeout_s: float = 2.0
    # TPM2 acknowledgement (AC): "auto" waits for it once the controller has sent one.
    ack: AckPolicy = "auto"
    ack_timeout_s: float = 0.25  # beyond the frame's transmission time
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 10.0
    # Mono conversion: luminance threshold (0-255), or ordered dither for pictures.
    threshold: int = 128
    dither: Dither = "none"
    gamma: float = 2.2  # RGB panels: LEDs are linear, frames are sRGB-ish
    # Alpha signs: display mode ("auto" = hold when it fits, else rotate), text colour.
    alpha_mode: str = "auto"
    alpha_color: str = "amber"
    alpha_position: Literal["fill", "middle", "top", "bottom"] = "fill"
    alpha_address: str = "00"
    alpha_packet_gap_s: float = 0.15

    @classmethod
    def from_config(cls, config: Any) -> BridgeSettings:
        """From `SerialConfig` (or any object with the same attributes)."""
        known = {f.name: getattr(config, f.name) for f in fields(cls) if hasattr(config, f.name)}
        return cls(**known)

    @property
    def size(self) -> tuple[int, int]:
        return (self.panel_width, self.panel_height)

    @property
    def bits_per_byte(self) -> int:
        """Start bit, data bits, parity bit, stop bits: what one byte costs on the line."""
        return 1 + self.bytesize + (0 if self.parity == "none" else 1) + self.stopbits

    @property
    def bytes_per_second(self) -> float:
        return self.baudrate / self.bits_per_byte

    @property
    def line_format(self) -> str:
        """8N1, 7E1… as technicians write it."""
        return f"{self.bytesize}{self.parity[0].upper()}{self.stopbits}"
