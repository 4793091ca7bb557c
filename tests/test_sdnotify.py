from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.sdnotify import Notifier, Watchdog


class NotifySocket:
    """A stand-in for systemd's notify socket: a datagram socket in a temp dir; a thread
    records every datagram with the time it arrived."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.received: list[tuple[float, str]] = []
        self._arrived = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._closing:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._arrived:
                self.received.append((time.monotonic(), data.decode()))
                self._arrived.notify_all()

    def wait_for(self, text: str, start: int = 0, timeout: float = 10) -> int:
        """Index of the first datagram from `start` on that contains `text`."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for index in range(start, len(self.received)):
                    if text in self.received[index][1]:
                        return index
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {text!r} within {timeout} s: {self.received[-5:]}")
                self._arrived.wait(remaining)

    def pings(self) -> list[float]:
        with self._arrived:
            return [at for at, text in self.received if text == "WATCHDOG=1"]

    def close(self) -> None:
        self._closing = True
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    s = NotifySocket(tmp_path / "notify.sock")
    yield s
    s.close()


def test_ready_status_and_stopping(notify_socket: NotifySocket) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(notify_socket.path)})
    notifier.ready("online; showing commune/a")
    first = notify_socket.wait_for("READY=1")
    assert notify_socket.received[first][1] == "READY=1\nSTATUS=online; showing commune/a"
    notifier.stopping()
    assert notify_socket.received[notify_socket.wait_for("STOPPING=1")][1].endswith("stopping")


def test_without_systemd_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert notifier.address is None
    assert notifier.watchdog_s is None
    notifier.ready("x")  # no error


def test_watchdog_interval_is_for_this_process_only() -> None:
    env = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(env).watchdog_s == 2.0
    assert Notifier({**env, "WATCHDOG_PID": "1"}).watchdog_s is None


def test_watchdog_pings_only_while_every_check_passes(notify_socket: NotifySocket) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(notify_socket.path), "WATCHDOG_USEC": "100000"})
    healthy = {"render": True}
    watchdog = Watchdog(notifier, [lambda _allowed: healthy["render"]])
    watchdog.start()
    try:
        notify_socket.wait_for("WATCHDOG=1")
        healthy["render"] = False
        pings = watchdog.pings
        stop = threading.Event()
        stop.wait(0.5)  # ten ping periods with a failing check
        assert watchdog.pings <= pings + 1  # at most one was already on its way
        healthy["render"] = True
        notify_socket.wait_for("WATCHDOG=1", start=len(notify_socket.received))
    finally:
        watchdog.stop()
