"""Brokers that misbehave on purpose, on real loopback sockets: one that accepts TCP and
never answers, one that closes before its CONNACK, one that refuses MQTT 5 (as an MQTT
3.1.1-only broker must) and accepts 3.1.1. No real broker can be told to do these."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Literal

from tests.support import free_port

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
