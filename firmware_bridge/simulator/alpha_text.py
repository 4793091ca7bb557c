"""How an Alpha sign draws a TEXT file: runs of text, each in a colour, and the pictures
(and strings) the text calls, side by side on one line, centred when they fit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pygame
import pygame.freetype

from firmware_bridge.frame import TRICOLOR_PALETTE, PanelFrame, to_surface

COLOR_CODE, CALL_PICTURE, CALL_STRING, TIME = 0x1C, 0x14, 0x10, 0x13
_COLOR_INDEX = {b"1": 1, b"2": 2, b"3": 3, b"4": 1, b"5": 2, b"6": 3, b"7": 3, b"8": 3}
_ONE_ARGUMENT_CODES = frozenset(b"\x1a\x1d\x1e\x1f")  # character set, wide…: not drawn
_SPEED_CODES = frozenset(range(0x15, 0x1A))

Problem = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Calls:
    """What a TEXT file can call: pictures and strings by label, and the sign's clock."""

    pictures: Mapping[str, PanelFrame]
    strings: Mapping[str, bytes]
    time: str  # HHMM


@dataclass
class Run:
    text: str = ""
    color: int = 3  # amber until a colour code says otherwise
    picture: PanelFrame | None = None


def text_runs(body: bytes, calls: Calls, problem: Problem) -> list[Run]:
    runs = [Run()]
    index = 0
    while index < len(body):
        code, argument = body[index], body[index + 1 : index + 2]
        index += 1
        if code == COLOR_CODE:
            runs.append(Run(color=_COLOR_INDEX.get(argument, 3)))
            index += 7 if argument == b"Z" else 1  # Z: an RGB colour, six hex digits
        elif code == CALL_PICTURE:
            picture = calls.pictures.get(argument.decode("latin-1"))
            if picture is None:
                problem(f"TEXT calls picture {argument!r}, which is not there")
            else:
                runs += [Run(picture=picture), Run(color=runs[-1].color)]
            index += 1
        elif code == CALL_STRING:
            runs[-1].text += calls.strings.get(argument.decode("latin-1"), b"").decode("latin-1")
            index += 1
        elif code == TIME:
            runs[-1].text += f"{calls.time[:2]}:{calls.time[2:4]}"
        elif code in _ONE_ARGUMENT_CODES:
            index += 1
        elif 0x20 <= code < 0x7F:
            runs[-1].text += chr(code)
        elif code not in _SPEED_CODES:
            runs[-1].text += " "
    return [run for run in runs if run.text or run.picture is not None]


def draw_runs(surface: pygame.Surface, runs: list[Run], *, held: bool, problem: Problem) -> None:
    """Side by side, centred; text that is held (not moving) and too wide is cut."""
    width, height = surface.get_size()
    pieces = [_piece(run, height) for run in runs]
    total = sum(piece.get_width() for piece in pieces)
    if total > width and held:
        problem(f"held text is {total} dots wide on a {width}-dot sign: cut")
    x = max(0, (width - total) // 2)
    for piece in pieces:
        surface.blit(piece, (x, (height - piece.get_height()) // 2))
        x += piece.get_width()


def _piece(run: Run, panel_height: int) -> pygame.Surface:
    if run.picture is not None:
        return to_surface(run.picture)
    return _sign_font(panel_height).render(run.text, TRICOLOR_PALETTE[run.color])[0]


_FONTS: dict[int, pygame.freetype.Font] = {}


def _sign_font(panel_height: int) -> pygame.freetype.Font:
    """A stand-in for the sign's built-in font: pygame's own, unsmoothed, one line high."""
    size = max(7, min(16, panel_height))
    if size not in _FONTS:
        pygame.freetype.init()
        font = pygame.freetype.Font(None, size)
        font.antialiased = False
        _FONTS[size] = font
    return _FONTS[size]
