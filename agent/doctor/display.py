"""Where frames go: a KMS/DRM screen (or an X/Wayland session), headless, or serial."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from agent.config import AgentConfig
from agent.doctor.access import READ, WRITE, checking_identity, describe_mode, run_as_service_hint
from agent.doctor.check import Check

NO_KMS_FIX = (
    "Raspberry Pi OS turns KMS on with dtoverlay=vc4-kms-v3d in /boot/firmware/config.txt: "
    'put it back and reboot; or, for a board with no screen, set [display] output = "headless"'
)
NO_SCREEN_FIX = (
    "check the screen's power and that its HDMI cable is in HDMI0 (next to the USB-C "
    "power on a Pi 4); a screen switched on after the Pi needs a reboot, or add "
    "video=HDMI-A-1:1920x1080@60D to /boot/firmware/cmdline.txt"
)


class DisplayDoctor:
    def __init__(
        self,
        config: AgentConfig,
        *,
        env: Mapping[str, str] | None = None,
        dev_dri: Path = Path("/dev/dri"),
        sys_drm: Path = Path("/sys/class/drm"),
    ) -> None:
        self.config = config
        self.env = os.environ if env is None else env
        self.dev_dri = dev_dri
        self.sys_drm = sys_drm

    def checks(self) -> list[Check]:
        output = self.config.display.output
        layouts = self.layouts() if self.config.display.layouts_dir is not None else []
        if output == "headless":
            return [Check.passed("display output headless: frames are drawn in memory"), *layouts]
        if output == "serial":
            return [
                Check.passed("display output serial: frames go to the LED controller"),
                *layouts,
            ]
        return [self.screen(), *layouts]

    def layouts(self) -> list[Check]:
        """The layouts folder: one line for the good files, one per file the board skips."""
        from display_layouts.library import builtin_library, scan_library

        folder = self.config.display.layouts_dir
        scan = scan_library(folder)
        extra = sorted(set(scan.library.names) - set(builtin_library().names))
        replaced = [
            name
            for name in builtin_library().names
            if scan.library.get(name) is not builtin_library().get(name)
        ]
        used = ", ".join(extra + [f"{name} (replaced)" for name in replaced]) or "none"
        checks = [Check.passed(f"layouts folder {folder}: {used} besides the built-in ones")]
        for skipped in scan.skipped:
            checks.append(
                Check.failed(
                    skipped.summary(),
                    f"the board runs without it: fix it (signage-agent validate "
                    f"{skipped.path}) or remove it, then: systemctl reload signage-agent",
                )
            )
        return checks

    def screen(self) -> Check:
        driver = self.env.get("SDL_VIDEODRIVER", "")
        if driver in ("dummy", "offscreen"):
            return Check.failed(
                f"SDL_VIDEODRIVER={driver} is set: the agent would draw headless",
                "remove SDL_VIDEODRIVER from the environment (and from any drop-in: "
                "systemctl cat signage-agent)",
            )
        session = self.env.get("WAYLAND_DISPLAY") or self.env.get("DISPLAY")
        if session:
            return Check.passed(f"display: a desktop session ({session}) is there to draw on")
        return self.kms()

    def kms(self) -> Check:
        cards = sorted(self.dev_dri.glob("card*"))
        if not cards:
            return Check.failed(f"no KMS/DRM device ({self.dev_dri}/card*)", NO_KMS_FIX)
        identity = checking_identity()
        usable = [card for card in cards if identity.may(card, READ | WRITE)]
        if not usable:
            return Check.failed(
                f"{identity.name} may not open {cards[0]} ({describe_mode(cards[0])})",
                f"the service has groups video and render; {run_as_service_hint()}",
            )
        statuses = self.connectors()
        connected = [f"{name} {mode}".strip() for name, (state, mode) in statuses.items() if state]
        if statuses and not connected:
            names = ", ".join(statuses)
            return Check.failed(f"no screen connected ({names}: disconnected)", NO_SCREEN_FIX)
        screens = f", {', '.join(connected)} connected" if connected else ""
        return Check.passed(f"display: KMS {', '.join(c.name for c in usable)}{screens}")

    def connectors(self) -> dict[str, tuple[bool, str]]:
        """{connector: (connected, first mode)} of every output the DRM driver knows."""
        found = {}
        for status in sorted(self.sys_drm.glob("card*-*/status")):
            name = status.parent.name.partition("-")[2]
            try:
                connected = status.read_text().strip() == "connected"
                modes = (status.parent / "modes").read_text().split()
            except OSError:
                continue
            found[name] = (connected, modes[0] if modes else "")
        return found
