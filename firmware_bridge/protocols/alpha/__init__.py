"""Alpha signs (Adaptive Micro Systems, BetaBrite…): text in the sign's own fonts when
it can draw every character, else our rendered frame as a SMALL DOTS picture that the
TEXT file calls — Vietnamese always goes this way, the sign's fonts have no diacritics.

Memory: TEXT file `A` (what the sign shows) and DOTS picture `B` (panel-sized), set up
on every connection — the sign may have been power-cycled — together with its clock.
"""

from __future__ import annotations

from datetime import datetime

from firmware_bridge.frame import PanelFrame
from firmware_bridge.protocols.alpha import commands
from firmware_bridge.protocols.alpha.packets import REPLY_TYPE, AlphaDecoder, build_packet
from firmware_bridge.protocols.alpha_settings import AlphaSettings
from firmware_bridge.protocols.base import Content, LinkCheck, Packet, Pause, SignText
from firmware_bridge.protocols.common import ColorModel

TEXT_LABEL = b"A"
PICTURE_LABEL = b"B"
TEXT_CAPACITY = 0x200  # bytes allocated to the TEXT file
MAX_DOTS = 0xFF  # a picture's height and width are two hex digits
CHAR_PITCH = 6  # a 5×7 sign font plus one column of space
MEMORY_SETTLE_S = 1.0  # a new memory table needs about a second
_TEXT_OVERHEAD = 8  # ESC, position, mode (up to 2), colour code (2), margin


def _sign_draws(char: str) -> bool:
    return " " <= char <= "~"


class AlphaProtocol:
    name = "alpha"

    def __init__(self, settings: AlphaSettings) -> None:
        self.settings = settings
        self.warnings: list[str] = []
        self.color: ColorModel = self._color_model(settings.color)
        width, height = settings.size
        self.picture_size = (min(width, MAX_DOTS), min(height, MAX_DOTS))
        if self.picture_size != settings.size:
            self.warnings.append(
                f"Alpha pictures are at most {MAX_DOTS}×{MAX_DOTS} dots: the {width}×{height} "
                f"frame is cut to {self.picture_size[0]}×{self.picture_size[1]}"
            )
        # Mode and colour are names the settings accepted (a misspelt one fails `validate`).
        self.mode = settings.alpha_mode
        self.text_color = settings.alpha_color if self.color == "tricolor" else None

    def _color_model(self, wanted: ColorModel) -> ColorModel:
        if wanted == "rgb":
            self.warnings.append("Alpha pictures are tri-colour: RGB frames are sent as tricolor")
            return "tricolor"
        return wanted

    def _packet(self, command: tuple[bytes | Pause, ...] | bytes, gap: float = 0.0) -> Packet:
        parts = (command,) if isinstance(command, bytes) else command
        gap_after = max(gap, self.settings.alpha_packet_gap_s)
        return build_packet(parts, address=self.settings.alpha_address, gap_after_s=gap_after)

    # --- the plugin interface --------------------------------------------------------------

    def on_connect(self, now: datetime) -> list[Packet]:
        files = [
            commands.text_file(TEXT_LABEL, TEXT_CAPACITY),
            commands.picture_file(PICTURE_LABEL, self.picture_size, self.color == "tricolor"),
        ]
        return [
            self._packet(commands.memory_config(files), gap=MEMORY_SETTLE_S),
            self._packet(commands.set_time(now)),
            self._packet(commands.set_date(now)),
            self._packet(commands.set_weekday(now)),
        ]

    def encode(self, content: Content) -> list[Packet]:
        if isinstance(content, SignText):
            body = commands.colored(content.text, self.text_color)
            return [self._text(self._mode_for(content.text), body)]
        if content.is_dark():  # a blank sign (display off) needs no picture
            return [self._text("hold", b" ")]
        return [
            self._packet(commands.small_dots(PICTURE_LABEL, self._picture_rows(content))),
            self._text("hold", commands.call_picture(PICTURE_LABEL)),
        ]

    def draws_text(self, text: str) -> bool:
        return (
            bool(text.strip())
            and len(text) <= TEXT_CAPACITY - _TEXT_OVERHEAD
            and all(_sign_draws(char) for char in text)
        )

    def brightness(self, percent: int) -> list[Packet] | None:
        return None  # the dimming function's format is unconfirmed: not guessed at

    def link_check(self) -> LinkCheck:
        request = self._packet(commands.read_time()).parts
        return LinkCheck(b"".join(p for p in request if isinstance(p, bytes)), _sign_reply)

    # --- helpers -----------------------------------------------------------------------------

    def _text(self, mode: str, body: bytes) -> Packet:
        position = self.settings.alpha_position
        return self._packet(commands.write_text(TEXT_LABEL, position, mode, body))

    def _mode_for(self, text: str) -> str:
        if self.mode != "auto":
            return self.mode
        fits = len(text) * CHAR_PITCH <= self.settings.panel_width
        return "hold" if fits else "rotate"

    def _picture_rows(self, frame: PanelFrame) -> list[bytes]:
        width, height = self.picture_size
        return [row[:width] for row in frame.rows()[:height]]


def _sign_reply(received: bytes) -> str | None:
    for packet in AlphaDecoder(gap_s=None).feed(received):
        if packet.sign_type == REPLY_TYPE and packet.commands:
            command = packet.commands[0]
            return f"an Alpha sign answered ({command.code}{command.data.decode('latin-1')!r})"
    return None


def create(settings: AlphaSettings) -> AlphaProtocol:
    return AlphaProtocol(settings)
