"""Opening the port (any pyserial URL) and saying in plain words why it failed."""

from __future__ import annotations

import contextlib
import errno
from typing import Any

import serial

from firmware_bridge.protocols.common import ProtocolSettings

_PARITY = {"none": serial.PARITY_NONE, "even": serial.PARITY_EVEN, "odd": serial.PARITY_ODD}

PortErrors = (serial.SerialException, OSError, ValueError)

_ERRNO_WORDS = {
    errno.ENOENT: "no such device (is the adapter plugged in?)",
    errno.ENODEV: "no such device (is the adapter plugged in?)",
    errno.ENXIO: "no such device (is the adapter plugged in?)",
    errno.EACCES: "permission denied (the agent's user needs the 'dialout' group)",
    errno.EBUSY: "busy: another program has the port open",
    errno.EIO: "input/output error (adapter unplugged, or the device went away)",
    errno.ECONNREFUSED: "connection refused (nothing listens at that address)",
}


def open_port(settings: ProtocolSettings) -> Any:
    """An open `serial.SerialBase` for `settings.port`; raises one of `PortErrors`."""
    port = serial.serial_for_url(
        settings.port,
        do_not_open=True,
        baudrate=settings.baudrate,
        bytesize=settings.bytesize,
        parity=_PARITY[settings.parity],
        stopbits=settings.stopbits,
        timeout=0,  # reads never block: the writer polls for replies between frames
        write_timeout=settings.write_timeout_s,
    )
    if isinstance(port, serial.Serial):
        port.exclusive = True  # two agents on one sign would interleave packets
    port.open()
    return port


def describe(exc: BaseException) -> str:
    """The reason a port failed, for a technician."""
    if isinstance(exc, serial.SerialTimeoutException):
        return "write timed out: the line is not draining (device stuck, or flow control)"
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code in _ERRNO_WORDS:
        return _ERRNO_WORDS[code]
    text = str(exc)
    if "exclusively lock" in text:
        return _ERRNO_WORDS[errno.EBUSY]
    if "returned no data" in text or "disconnected" in text:
        return "the device went away (unplugged?)"
    return text or type(exc).__name__


def close_quietly(port: Any) -> None:
    # A vanished device cannot be closed cleanly; its descriptor is gone anyway.
    with contextlib.suppress(*PortErrors):
        port.close()
