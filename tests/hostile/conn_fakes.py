"""Brokers that misbehave on purpose, on real loopback sockets: one that accepts TCP and
never answers, one that closes before its CONNACK, one that refuses MQTT 5 (as an MQTT
3.1.1-only broker must) and accepts 3.1.1. No real broker can be told to do these."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from pathlib import Path
from typing import Literal

from tests.support import BOARD, Broker, free_port

Mode = Literal["silent", "close", "refuse-5"]
CONNACK_ACCEPTED = bytes([0x20, 0x02, 0x00, 0x00])
CONNACK_BAD_PROTOCOL = bytes([0x20, 0x02, 0x00, 0x01])  # 3.1.1: unacceptable protocol version


def protocol_level(connect: bytes) -> int | None:
    """The protocol level byte of a CONNECT packet (4 = 3.1.1, 5 = MQTT 5)."""
    at = connect.find(b"MQTT")
    return connect[at + 4] if at >= 0 and len(connect) > at + 4 else None


class FakeBroker:
    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.port = free_port()
        self.levels: list[int | None] = []  # protocol level of each CONNECT seen
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        self._open.append(conn)
        conn.settimeout(30)
        try:
            first = conn.recv(4096)
        except OSError:
            return
        level = protocol_level(first)
        self.levels.append(level)
        if self.mode == "close":
            conn.close()
            return
        if self.mode == "refuse-5":
            if level == 5:
                conn.sendall(CONNACK_BAD_PROTOCOL)
                conn.close()
                return
            conn.sendall(CONNACK_ACCEPTED)
        self._drain(conn, answer=self.mode == "refuse-5")

    def _drain(self, conn: socket.socket, *, answer: bool) -> None:
        # Silent: swallow everything. Accepting: answer PINGREQ so keepalive holds.
        while not self._stop.is_set():
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            if answer and data[:1] == b"\xc0":
                conn.sendall(b"\xd0\x00")

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.close()


BOARD_PASSWORD = "mật-khẩu-đúng"
DASHBOARD_PASSWORD = "bảng-điều-khiển"

# The board may read its content, alerts and commands, and write only its heartbeats (so
# that the dashboard can see the denials of the rest counted in them).
ACL_NO_WRITES = """pattern read signage/v1/content/#
pattern read signage/v1/alert/#
pattern read signage/v1/board/%u/cmd
pattern write signage/v1/board/%u/heartbeat
user dashboard
topic readwrite signage/v1/#
"""
# The board may write all of its own topics (its cmd too: doctor can probe it) but not
# read its commands: Mosquitto grants the subscription and never delivers.
ACL_NO_COMMAND_READS = """pattern read signage/v1/content/#
pattern read signage/v1/alert/#
pattern write signage/v1/board/%u/#
user dashboard
topic readwrite signage/v1/#
"""


def acl_broker(directory: Path, acl: str) -> Broker:
    """A Mosquitto with a password per account (the board, `dashboard`) and this ACL."""
    directory.mkdir(parents=True, exist_ok=True)
    passwords = directory / "passwd"
    for n, (user, password) in enumerate(
        ((BOARD["id"], BOARD_PASSWORD), ("dashboard", DASHBOARD_PASSWORD))
    ):
        create = ["-c"] if n == 0 else []
        subprocess.run(
            ["mosquitto_passwd", *create, "-b", str(passwords), user, password],
            check=True,
            capture_output=True,
            timeout=30,
        )
    (directory / "board.acl").write_text(acl)
    broker = Broker(
        directory,
        f"allow_anonymous false\npassword_file {passwords}\nacl_file {directory / 'board.acl'}\n",
    )
    broker.start()
    return broker


def board_login(directory: Path) -> str:
    """[mqtt] lines of the board's own account."""
    password = directory / "board.password"
    password.write_text(BOARD_PASSWORD + "\n", encoding="utf-8")
    return f'username = "{BOARD["id"]}"\npassword_file = "{password}"\n'
