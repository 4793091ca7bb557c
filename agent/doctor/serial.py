"""The LED controller's serial port: present, usable by the service, free, answering.

The controller probe itself belongs to the serial layer (`firmware_bridge.probe`); the
doctor asks it through one function and says so plainly when this version lacks it.
"""

from __future__ import annotations

import importlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import cast

from agent.config import SerialConfig
from agent.doctor.access import READ, WRITE, checking_identity, describe_mode, run_as_service_hint
from agent.doctor.check import Check, ms, timed

# probe_controller(port, protocol, baudrate, timeout) -> (answered, what was seen)
ControllerProbe = Callable[[str, str, int, float], tuple[bool, str]]

PROBE_TIMEOUT_S = 3.0

GPIO_UART_NAMES = ("serial0", "serial1", "ttyAMA", "ttyS")

PROTOCOL_HINTS = {
    "alpha": "Alpha signs usually run at 9600 baud and must accept address 00 (broadcast)",
    "tpm2": "TPM2 controllers must be set to the same baud rate as [serial] baudrate",
    "adalight": "Adalight devices print 'Ada' when idle: check the baud rate first",
}


def load_probe() -> ControllerProbe | None:
    """The serial layer's probe, or None while this version has none."""
    try:
        module = importlib.import_module("firmware_bridge.probe")
    except Exception:  # absent, or broken in this build: the port checks still help
        return None
    return cast(ControllerProbe | None, getattr(module, "probe_controller", None))


class SerialDoctor:
    def __init__(
        self,
        serial: SerialConfig,
        probe: ControllerProbe | None,
        *,
        proc: Path = Path("/proc"),
        sys_tty: Path = Path("/sys/class/tty"),
        timeout: float = PROBE_TIMEOUT_S,
    ) -> None:
        self.serial = serial
        self.timeout = timeout
        self.probe = probe
        self.proc = proc
        self.sys_tty = sys_tty

    def checks(self) -> list[Check]:
        port = self.serial.port
        if "://" in port:
            return [Check.skipped(f"serial port {port} is a URL: no device to check"), self.ask()]
        device = Path(port)
        problem = self.device_problem(device)
        if problem is not None:
            return [problem]
        checks = [self.describe(device)]
        console = self.console_problem(device)
        if console is not None:
            return [*checks, console]
        holders = self.holders(device)
        if holders:
            return [*checks, self.busy(holders)]
        return [*checks, self.ask()]

    def device_problem(self, device: Path) -> Check | None:
        if not device.exists():
            return Check.failed(f"serial port {device} is not there", _missing_fix(device))
        if not stat.S_ISCHR(device.stat().st_mode):
            return Check.failed(
                f"serial port {device} is not a device",
                "set [serial] port to the adapter's name (ls -l /dev/serial/by-id/)",
            )
        identity = checking_identity()
        if not identity.may(device, READ | WRITE):
            return Check.failed(
                f"{identity.name} may not open {device} ({describe_mode(device)})",
                f"the service has group dialout; {run_as_service_hint()}",
            )
        return None

    def describe(self, device: Path) -> Check:
        real = device.resolve()
        shown = f"{device} → {real}" if real != device else str(device)
        details = [d for d in (self.driver(real), self.latency(real)) if d]
        extra = f" ({', '.join(details)})" if details else ""
        who = checking_identity().name
        return Check.passed(f"serial port {shown}{extra}, readable and writable by {who}")

    def driver(self, real: Path) -> str:
        link = self.sys_tty / real.name / "device" / "driver"
        return f"driver {link.readlink().name}" if link.is_symlink() else ""

    def latency(self, real: Path) -> str:
        timer = self.sys_tty / real.name / "device" / "latency_timer"
        try:
            ms = int(timer.read_text().strip())
        except (OSError, ValueError):
            return ""
        if ms <= 1:
            return "latency timer 1 ms"
        return f"latency timer {ms} ms: slow acknowledgements; re-plug it to apply the udev rule"

    def console_problem(self, device: Path) -> Check | None:
        try:
            cmdline = (self.proc / "cmdline").read_text()
        except OSError:
            return None
        consoles = [
            arg.removeprefix("console=").split(",")[0]
            for arg in cmdline.split()
            if arg.startswith("console=")
        ]
        real = device.resolve()
        for name in consoles:
            if name and Path("/dev", name).resolve() == real:
                return Check.failed(
                    f"the Linux console also uses {device} (console={name} in the kernel "
                    "command line): boot messages and a login prompt go to the sign",
                    "sudo raspi-config → Interface Options → Serial Port: login shell No, "
                    "serial hardware Yes; then reboot",
                )
        return None

    def holders(self, device: Path) -> list[str]:
        """`name (pid N)` of other processes that have the port open."""
        real = str(device.resolve())
        found = []
        for fd_dir in self.proc.glob("[0-9]*/fd"):
            pid = fd_dir.parent.name
            if pid == str(os.getpid()) or not _has_open(fd_dir, real):
                continue
            found.append(f"{_process_name(fd_dir.parent)} (pid {pid})")
        return found

    def busy(self, holders: list[str]) -> Check:
        return Check.skipped(
            f"controller probe skipped: {self.serial.port} is open by {', '.join(holders)}; "
            "to probe it: sudo systemctl stop signage-agent, run doctor, then start it again"
        )

    def ask(self) -> Check:
        s = self.serial
        where = f"{s.port} ({s.protocol}, {s.baudrate} baud)"
        if self.probe is None:
            return Check.skipped(
                f"controller probe skipped: this signage-agent has no serial layer "
                f"(firmware_bridge.probe) yet; only the port was checked ({where})"
            )
        probe = self.probe
        try:
            (answered, seen), took = timed(
                lambda: probe(s.port, s.protocol, s.baudrate, self.timeout)
            )
        except Exception as exc:
            return Check.failed(f"controller probe on {where} failed: {exc}", self._wiring_fix())
        if answered:
            return Check.passed(f"controller on {where}: {seen} ({ms(took)})")
        return Check.failed(f"controller on {where} does not answer: {seen}", self._wiring_fix())

    def _wiring_fix(self) -> str:
        hint = PROTOCOL_HINTS.get(self.serial.protocol, "")
        return (
            "check the controller's power, the wiring (TX to RX, RX to TX, common ground; "
            "RS-485: A to A, B to B) and that [serial] baudrate matches the controller"
            + (f"\n{hint}" if hint else "")
        )


def _missing_fix(device: Path) -> str:
    if device.name.startswith(GPIO_UART_NAMES):
        return (
            "turn the GPIO UART on: sudo raspi-config → Interface Options → Serial Port "
            "(login shell No, hardware Yes), or enable_uart=1 in /boot/firmware/config.txt; "
            "reboot"
        )
    return (
        "plug the USB serial adapter in (or try another USB socket), then find its name: "
        "ls -l /dev/serial/by-id/ and set it as [serial] port"
    )


def _has_open(fd_dir: Path, target: str) -> bool:
    try:
        links = list(fd_dir.iterdir())
    except OSError:  # another user's process, or it just ended
        return False
    for link in links:
        try:
            if str(link.readlink()) == target:
                return True
        except OSError:
            continue
    return False


def _process_name(proc_dir: Path) -> str:
    try:
        return (proc_dir / "comm").read_text().strip()
    except OSError:
        return "?"
