"""Where frames go: a screen (pygame window or KMS console) or nowhere visible (headless).

Outputs are interchangeable behind `Output`: the renderer draws on `canvas`, the core
calls `present()` once per changed frame. (The serial LED output joins them later.)
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import pygame

from agent.messages import OutputKind, SerialHealth
from agent.storage import atomic_write
from firmware_bridge.events import SerialLinkHealth

log = logging.getLogger(__name__)

DEFAULT_HEADLESS_SIZE = (1920, 1080)


class Output(Protocol):
    canvas: pygame.Surface

    @property
    def kind(self) -> OutputKind: ...

    @property
    def size(self) -> tuple[int, int]: ...

    def present(self, areas: list[pygame.Rect] | None = None) -> None:
        """Show the canvas; `areas`: only these parts changed (an animation step)."""

    def pump(self) -> bool:
        """Handle window-system events; False when the user closed the window."""

    def close(self) -> None: ...

    def set_backlight(self, percent: int) -> bool:
        """Dim the panel's own backlight; False when there is none (the frame is dimmed)."""

    def set_power(self, on: bool) -> bool:
        """Power the display down or up; False when it cannot (the frame is blanked)."""


@runtime_checkable
class SerialLine(Protocol):
    """An output behind a serial line (an LED controller): it reports the link's health."""

    def health(self) -> SerialLinkHealth: ...


def serial_health(output: Output) -> SerialHealth | None:
    """The heartbeat's `serial`: the link's health when the output is a serial line."""
    if not isinstance(output, SerialLine):
        return None
    link = output.health()
    return SerialHealth(
        port=link.port,
        protocol=link.protocol,
        connected=link.connected,
        frames_sent=link.frames_sent,
        errors=link.errors,
    )


@runtime_checkable
class TextSign(Protocol):
    """An output with fonts of its own (Alpha LED signs): plain text goes as text."""

    def present_text(self, text: str) -> bool:
        """Show `text` (already drawn on the canvas, the fallback); False when the sign
        cannot draw it and the canvas went as a picture instead."""


class Backlight:
    """A panel backlight in sysfs (official Raspberry Pi touch display, many DSI panels)."""

    def __init__(self, root: Path = Path("/sys/class/backlight")) -> None:
        devices = sorted(root.glob("*")) if root.is_dir() else []
        self.device = next((d for d in devices if os.access(d / "brightness", os.W_OK)), None)

    def set(self, percent: int) -> bool:
        if self.device is None:
            return False
        try:
            top = int((self.device / "max_brightness").read_text().strip())
            (self.device / "brightness").write_text(str(round(top * percent / 100)))
        except (OSError, ValueError) as exc:
            log.warning("backlight %s: %s", self.device, exc)
            return False
        return True

    def power(self, on: bool) -> bool:
        if self.device is None:
            return False
        try:
            (self.device / "bl_power").write_text("0" if on else "4")  # FB_BLANK_POWERDOWN
        except OSError as exc:
            log.warning("backlight %s: %s", self.device, exc)
            return False
        return True


def png_bytes(surface: pygame.Surface) -> bytes:
    buffer = io.BytesIO()
    pygame.image.save(surface, buffer, "png")
    return buffer.getvalue()


class HeadlessOutput:
    """Renders into memory; optionally writes each presented frame to a PNG file."""

    def __init__(self, size: tuple[int, int], snapshot: Path | None = None) -> None:
        self.canvas = pygame.Surface(size)
        self.snapshot = snapshot

    @property
    def kind(self) -> OutputKind:
        return "headless"

    @property
    def size(self) -> tuple[int, int]:
        return self.canvas.get_size()

    def present(self, areas: list[pygame.Rect] | None = None) -> None:
        # Whole frames only: a PNG per ticker step would be a disk write 30 times a second.
        if self.snapshot is not None and areas is None:
            atomic_write(self.snapshot, png_bytes(self.canvas))

    def pump(self) -> bool:
        return True

    def close(self) -> None:
        pass

    def set_backlight(self, _percent: int) -> bool:
        return False

    def set_power(self, _on: bool) -> bool:
        return False


# SDL's drivers that draw into memory: when no real one (x11, wayland, KMSDRM) can open,
# SDL takes one of these without a word, and nothing is shown on any screen.
SDL_INVISIBLE_DRIVERS = ("offscreen", "dummy")


def sdl_fallback(driver: str, requested: str | None) -> str | None:
    """Why `driver` shows nothing when SDL took it without being asked to, else None."""
    asked = {name.strip().lower() for name in (requested or "").split(",")}
    if driver.lower() not in SDL_INVISIBLE_DRIVERS or driver.lower() in asked:
        return None
    return (
        f'output = "screen" but no usable display: SDL fell back to its {driver} driver, so '
        "nothing is shown (no X11/Wayland session and no KMS device: check the screen's "
        "cable and that it is on, or the vc4-kms-v3d overlay)"
    )


class ScreenOutput:
    """A fullscreen (or windowed) pygame display; SDL picks X11, Wayland or KMS."""

    def __init__(self, size: tuple[int, int] | None, fullscreen: bool) -> None:
        pygame.display.init()
        flags = pygame.FULLSCREEN if fullscreen else 0
        self.canvas = pygame.display.set_mode(size or (0, 0), flags)
        pygame.display.set_caption("signage-agent")
        pygame.mouse.set_visible(False)
        self.backlight = Backlight()
        # The SDL video driver in use (x11, wayland, KMSDRM, …): the heartbeat's `driver`.
        self.driver: str = pygame.display.get_driver()

    @property
    def kind(self) -> OutputKind:
        return "screen"

    @property
    def size(self) -> tuple[int, int]:
        return self.canvas.get_size()

    def present(self, areas: list[pygame.Rect] | None = None) -> None:
        if areas is None:
            pygame.display.flip()
        else:
            pygame.display.update(areas)

    def pump(self) -> bool:
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                return False
            if event.type == pygame.WINDOWEXPOSED:
                pygame.display.flip()
        return True

    def close(self) -> None:
        pygame.display.quit()

    def set_backlight(self, percent: int) -> bool:
        return self.backlight.set(percent)

    def set_power(self, on: bool) -> bool:
        return self.backlight.power(on)


def display_available() -> bool:
    """A window system or a DRM/KMS device that SDL can draw on."""
    if os.environ.get("SDL_VIDEODRIVER") in ("dummy", "offscreen"):
        return False
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return True
    return any(Path("/dev/dri").glob("card*"))


def open_output(
    kind: str, size: tuple[int, int] | None, fullscreen: bool, snapshot: Path | None = None
) -> tuple[Output, str | None]:
    """The configured output, or headless with the reason when the screen cannot open."""
    if kind == "screen":
        try:
            screen = ScreenOutput(size, fullscreen)
        except pygame.error as exc:
            problem = f"cannot open the screen ({exc}); rendering headless"
            log.error(problem)
            return HeadlessOutput(size or DEFAULT_HEADLESS_SIZE, snapshot), problem
        # Kept open (it renders as configured), but said: display.error at start, and the
        # heartbeat's display.driver names the invisible driver.
        fallback = sdl_fallback(screen.driver, os.environ.get("SDL_VIDEODRIVER"))
        if fallback is not None:
            log.error(fallback)
        return screen, fallback
    return HeadlessOutput(size or DEFAULT_HEADLESS_SIZE, snapshot), None
