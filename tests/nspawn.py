"""A real systemd for tests: a Debian Bookworm root booted with `systemd-nspawn`.

The root is made once with debootstrap and kept under /var/tmp (a minute of downloads
the first time); every test boots a throwaway overlay of it, so nothing a test does
reaches the cached root. The container shares the host's network, so an agent inside
reaches a test broker on a loopback port of the host.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import REPO

CACHE = Path(os.environ.get("SIGNAGE_NSPAWN_CACHE", "/var/tmp/signage-nspawn"))
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# What a board's Raspberry Pi OS Lite has that the agent and its installer need.
PACKAGES = ("systemd", "systemd-sysv", "dbus", "python3", "python3-venv", "procps")


class Unavailable(Exception):
    """This machine cannot boot a container (not root, no nspawn, no mirror)."""


def _run(args: list[str], timeout: float, log: Path) -> None:
    with log.open("ab") as out:
        result = subprocess.run(args, stdout=out, stderr=out, timeout=timeout, check=False)
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise Unavailable(f"{args[0]} exited {result.returncode}:\n{tail}")


def check_host() -> None:
    if os.geteuid() != 0:
        raise Unavailable("systemd-nspawn needs root")
    for tool in ("systemd-nspawn", "debootstrap"):
        if shutil.which(tool) is None:
            raise Unavailable(f"{tool} is not installed (./scripts/test installs it)")


def base_root() -> Path:
    """The cached Bookworm root, made on first use (under a lock: tests may race)."""
    check_host()
    key = hashlib.sha256(f"{SUITE} {' '.join(PACKAGES)}".encode()).hexdigest()[:12]
    home = CACHE / f"{SUITE}-{key}"
    root = home / "root"
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "etc" / "debian_version").exists():
            partial = home / "root.partial"
            shutil.rmtree(partial, ignore_errors=True)
            _run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(PACKAGES)}",
                    SUITE,
                    str(partial),
                    MIRROR,
                ],
                timeout=900,
                log=home / "debootstrap.log",
            )
            partial.rename(root)
    return root


def wheels(directory: Path, python: Path) -> Path:
    """This checkout and its dependencies as wheels, for an offline install inside."""
    directory.mkdir(parents=True, exist_ok=True)
    _run(
        # The versions the installer pins (constraints/board.txt), so its offline install
        # finds them in the folder; [video] as the installer installs it.
        [
            *(str(python), "-m", "pip", "wheel", "--quiet", "-w", str(directory)),
            *("-c", str(REPO / "constraints" / "board.txt"), f"{REPO}[video]"),
        ],
        timeout=600,
        log=directory.parent / "pip-wheel.log",
    )
    return directory


@contextmanager
def overlay(base: Path, work: Path) -> Iterator[Path]:
    """A writable copy of `base` that costs nothing to make and vanishes afterwards."""
    upper, scratch, merged = work / "upper", work / "work", work / "merged"
    for folder in (upper, scratch, merged):
        folder.mkdir(parents=True)
    options = f"lowerdir={base},upperdir={upper},workdir={scratch}"
    try:
        subprocess.run(
            ["mount", "-t", "overlay", "overlay", "-o", options, str(merged)],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode(errors="replace")
        raise Unavailable(f"cannot mount an overlay: {message}") from None
    try:
        yield merged
    finally:
        subprocess.run(["umount", "-l", str(merged)], check=False, timeout=30)


class Container:
    """`systemd-nspawn --boot` of a root; stopped (halted, then killed) on `stop`."""

    def __init__(
        self, root: Path, log: Path, binds: dict[Path, str], writable: dict[Path, str]
    ) -> None:
        self.root = root
        self.log = log
        self.binds = binds  # read-only
        self.writable = writable
        self.process: subprocess.Popen[bytes] | None = None

    def boot(self) -> Container:
        args = ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "-D", str(self.root)]
        args += [f"--bind-ro={host}:{inside}" for host, inside in self.binds.items()]
        args += [f"--bind={host}:{inside}" for host, inside in self.writable.items()]
        args += ["--boot", "--console=pipe"]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # nspawn halts the container's systemd
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
