"""What a controller protocol plugin is: the one small interface the writer talks to.

A plugin is a module `firmware_bridge/protocols/<name>.py` (or a package) with
`create(settings) -> ControllerProtocol`, beside its settings model
(`<name>_settings.py`); nothing else needs to know about it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from firmware_bridge.frame import PanelFrame
from firmware_bridge.protocols.common import ColorModel, ProtocolSettings


@dataclass(frozen=True, slots=True)
class Pause:
    """A wait inside a packet, after the bytes before it have left the line (Alpha wants
    ~100 ms after a picture's size header)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Packet:
    """Bytes written in bursts (split only at pauses), then an optional wait for the
    controller's acknowledgement, then a quiet gap before the next packet."""

    parts: tuple[bytes | Pause, ...]
    ack: bytes | None = None  # the reply acknowledging it, when the controller sends one
    gap_after_s: float = 0.0

    @property
    def size(self) -> int:
        return sum(len(part) for part in self.parts if isinstance(part, bytes))


@dataclass(frozen=True, slots=True)
class SignText:
    """Text for a sign to draw with its own fonts (only what `draws_text` accepted)."""

    text: str


Content = PanelFrame | SignText


@dataclass(frozen=True, slots=True)
class LinkCheck:
    """How to ask a controller whether it is there: send `request` (may be empty), then
    `recognise` all that came back so far (a plain description, or None while nothing
    matches)."""

    request: bytes
    recognise: Callable[[bytes], str | None]
    # When answering is optional for the protocol (TPM2's AC), silence is no failure:
    # this says what could not be checked.
    silence_is_fine: str | None = None
    min_listen_s: float = 0.0


class ControllerProtocol(Protocol):
    name: str
    color: ColorModel  # the colour model frames must be converted to for this controller
    # Limits met at start-up (a panel larger than the protocol can address…), in words.
    warnings: Sequence[str]

    def on_connect(self, now: datetime) -> list[Packet]:
        """Sent after every (re)connection, before the content: set-up, clock."""

    def encode(self, content: Content) -> list[Packet]: ...

    def draws_text(self, text: str) -> bool:
        """Whether the controller can show `text` with its own fonts."""

    def brightness(self, percent: int) -> list[Packet] | None:
        """Packets that set the panel's brightness; None when the protocol has none."""

    def link_check(self) -> LinkCheck: ...


@dataclass
class FrameOnly:
    """Shared by the plugins that only stream pictures (TPM2, Adalight)."""

    settings: ProtocolSettings
    warnings: list[str] = field(default_factory=list)

    @property
    def color(self) -> ColorModel:
        return self.settings.color

    def on_connect(self, now: datetime) -> list[Packet]:
        return []

    def draws_text(self, text: str) -> bool:
        return False

    def brightness(self, percent: int) -> list[Packet] | None:
        return None
