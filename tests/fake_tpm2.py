"""A tiny TPM2 controller on a pty, for doctor's serial checks (no hardware needed).

It reads frames (`C9` type size-hi size-lo payload `36`) from the pty's master side and,
like a real receiver, answers `AC` after each good one. `probe_tpm2` is a minimal
stand-in for `firmware_bridge.probe.probe_controller`: it sends one black pixel and waits
for the acknowledgement.
"""

from __future__ import annotations

import os
import select
import threading
import tty
from types import TracebackType

import serial

START, END, ACK = 0xC9, 0x36, 0xAC
ONE_BLACK_PIXEL = bytes([START, 0xDA, 0x00, 0x03, 0x00, 0x00, 0x00, END])


class FakeTpm2Controller:
    """`port` is the device path a client opens; `frames` are the payloads it got."""

    def __init__(self, *, acknowledge: bool = True) -> None:
        self.acknowledge = acknowledge
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing: all 256 byte values pass
        self.port = os.ttyname(self._slave)
        self.frames: list[bytes] = []
        self._buffer = bytearray()
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._serve, name="fake-tpm2", daemon=True)

    def __enter__(self) -> FakeTpm2Controller:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(5)
        for fd in (self.master, self._slave, self._stop_r, self._stop_w):
            os.close(fd)

    def _serve(self) -> None:
        while True:
            ready, _, _ = select.select([self.master, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            self._buffer += chunk
            self._take_frames()

    def _take_frames(self) -> None:
        while True:
            start = self._buffer.find(START)
            if start < 0:
                self._buffer.clear()
                return
            del self._buffer[:start]
            if len(self._buffer) < 4:
                return
            size = int.from_bytes(self._buffer[2:4], "big")
            if len(self._buffer) < 5 + size:
                return
            frame = bytes(self._buffer[: 5 + size])
            del self._buffer[: 5 + size]
            if frame[-1] == END:
                self.frames.append(frame[4:-1])
                if self.acknowledge:
                    os.write(self.master, bytes([ACK]))


def probe_tpm2(port: str, protocol: str, baudrate: int, timeout: float) -> tuple[bool, str]:
    assert protocol == "tpm2"
    with serial.serial_for_url(port, baudrate=baudrate, timeout=timeout) as link:
        link.write(ONE_BLACK_PIXEL)
        answer = link.read(1)
    if answer == bytes([ACK]):
        return True, "acknowledged a frame (0xAC)"
    return False, f"no acknowledgement within {timeout} s"
