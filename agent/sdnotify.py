"""systemd's notify protocol (`Type=notify`, `WatchdogSec=`), in a few lines of stdlib.

`READY=1` goes out after the first frame; `STATUS=` lines say what the board is doing;
`WATCHDOG=1` is sent by a small thread, but only while the render loop and the broker
supervisor both show progress — a frozen screen must get the service restarted, not
kept alive by a thread that still runs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # abstract namespace
            address = "\0" + address[1:]
        self.address = address or None
        self.watchdog_s = self._watchdog_interval(env)

    @staticmethod
    def _watchdog_interval(env: Mapping[str, str]) -> float | None:
        pid = env.get("WATCHDOG_PID")
        if pid and pid != str(os.getpid()):
            return None  # meant for another process
        try:
            usec = int(env.get("WATCHDOG_USEC", ""))
        except ValueError:
            return None
        return usec / 1_000_000 if usec > 0 else None

    def send(self, *lines: str) -> None:
        if self.address is None:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto("\n".join(lines).encode(), self.address)
        except OSError as exc:
            log.debug("sd_notify failed: %s", exc)

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=stopping")


class Watchdog:
    """Pings systemd at half the watchdog interval while every `healthy()` check passes."""

    def __init__(
        self,
        notifier: Notifier,
        checks: list[Callable[[float], bool]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.notifier = notifier
        self.checks = checks  # each gets the allowed staleness in seconds
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pings = 0

    def start(self) -> None:
        if self.notifier.watchdog_s is None:
            return
        self._thread = threading.Thread(target=self._run, name="sd-watchdog", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self.notifier.watchdog_s is not None
        period = self.notifier.watchdog_s / 2
        while not self._stop.wait(period):
            failing = [check for check in self.checks if not check(self.notifier.watchdog_s)]
            if failing:
                log.error(
                    "watchdog: no progress in %s; not pinging systemd",
                    ", ".join(getattr(c, "__name__", "?") for c in failing),
                )
                continue
            self.notifier.send("WATCHDOG=1")
            self.pings += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
