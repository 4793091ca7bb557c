"""`[display] output = "serial"`: the Output the core draws on, for an LED controller.

The renderer draws on `canvas` (panel_width × panel_height). `present()` converts it to
the controller's colour model and leaves it for the writer thread, which sends only the
newest frame when the line is free; it never blocks the render loop. For signs with
their own fonts (Alpha), `present_text(text)` sends a text item as text when the sign
can draw every character, and the rendered canvas as a picture otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Literal

import pygame

from firmware_bridge.convert import FrameConverter
from firmware_bridge.events import SerialLinkChanged, SerialLinkHealth, SerialProblem
from firmware_bridge.link import ControllerLink, PortOpener, Report
from firmware_bridge.protocols import SerialSettings, create_protocol
from firmware_bridge.protocols.base import Content, SignText
from firmware_bridge.session import LinkStats
from firmware_bridge.transport import open_port

__all__ = ["SerialLinkChanged", "SerialLinkHealth", "SerialOutput", "SerialProblem"]

log = logging.getLogger(__name__)


def _local_now() -> datetime:
    return datetime.now().astimezone()


class SerialOutput:
    def __init__(
        self,
        settings: SerialSettings,
        report: Report,
        *,
        now: Callable[[], datetime] = _local_now,
        opener: PortOpener = open_port,
    ) -> None:
        """`report(message)` puts a `SerialLinkChanged` or `SerialProblem` on the core's
        queue (called from the writer thread). `now` gives the board's local time, which
        signs with a clock (Alpha) are set to on every connection. `settings`: the
        config's `[serial]`, checked when it loaded."""
        self.settings = settings
        self.protocol = create_protocol(self.settings)
        self.canvas = pygame.Surface(self.settings.size)
        self._converter = FrameConverter(
            self.protocol.color,
            threshold=self.settings.threshold,
            dither=self.settings.dither,
            gamma=self.settings.gamma,
        )
        self._link = ControllerLink(self.settings, self.protocol, report, now=now, opener=opener)
        self._sign_draws_text = False  # the last present_text went as text
        for warning in self.protocol.warnings:
            log.warning("serial: %s", warning)
            self._link.report(SerialProblem(self.settings.port, warning))

    def start(self) -> None:
        """Start the writer thread (not in the constructor: what fails after it, such as
        the layout library, must not leave a thread behind)."""
        self._link.start()

    @property
    def kind(self) -> Literal["serial"]:
        return "serial"

    @property
    def size(self) -> tuple[int, int]:
        return self.settings.size

    @property
    def stats(self) -> LinkStats:
        return self._link.stats

    @property
    def showing(self) -> Content | None:
        """What the panel should be showing now: a frame, or text the sign draws itself."""
        return self._link.mailbox.newest().content

    def present(self, areas: list[pygame.Rect] | None = None) -> None:
        """Hand the canvas to the writer (whole frames: the controllers take nothing
        else). An animation step (`areas`) of text the sign draws itself is not sent:
        the sign moves that text on its own, and a picture would replace it."""
        if areas is not None and self._sign_draws_text:
            return
        self._sign_draws_text = False
        self._link.mailbox.put_content(self._converter.convert(self.canvas))

    def present_text(self, text: str) -> bool:
        """Instead of `present()` when the frame is one text item and nothing else (the
        canvas must hold its rendering: the fallback, and the screenshot). True when the
        sign draws the text with its own fonts; False when the canvas went as a picture
        (Vietnamese diacritics, a protocol without text, text too long)."""
        line = " ".join(text.split())  # sign fonts have no line breaks of our making
        if not self.protocol.draws_text(line):
            self.present()
            return False
        self._sign_draws_text = True
        self._link.mailbox.put_content(SignText(line))
        return True

    def pump(self) -> bool:
        return True

    def close(self) -> None:
        self._link.close()

    def set_backlight(self, percent: int) -> bool:
        """Always True: the controller's brightness command when its protocol has one;
        else RGB frames are scaled here. On/off pixels (mono, tricolor) without a
        brightness command stay at full brightness: dimming the frame before the
        threshold would switch text off."""
        if self.protocol.brightness(percent) is not None:
            self._link.mailbox.put_brightness(percent)
        else:
            self._converter.set_brightness(percent)
        return True

    def set_power(self, on: bool) -> bool:
        """False: no controller here can power down; the core blanks the frame instead."""
        return False

    def health(self) -> SerialLinkHealth:
        stats = self._link.stats
        return SerialLinkHealth(
            port=self.settings.port,
            protocol=self.protocol.name,
            connected=stats.connected,
            frames_sent=stats.frames_sent,
            errors=stats.errors,
        )
