"""`doctor`'s question: does a controller answer on this port?"""

from __future__ import annotations

import time
from typing import Any

from pydantic import ValidationError

from firmware_bridge.protocols import UnknownProtocol, create_protocol, serial_settings
from firmware_bridge.protocols.base import LinkCheck
from firmware_bridge.protocols.common import Parity
from firmware_bridge.transport import PortErrors, close_quietly, describe, open_port

READ_SLICE_S = 0.05


def probe_controller(
    port: str,
    protocol: str,
    baudrate: int,
    timeout: float,
    *,
    bytesize: int = 8,
    parity: Parity = "none",
    stopbits: int = 1,
) -> tuple[bool, str]:
    """True and what answered, or False and a plain-language reason."""
    try:
        settings = serial_settings(
            port=port,
            protocol=protocol,
            panel_width=8,  # the panel's size plays no part in a link check
            panel_height=8,
            baudrate=baudrate,
            bytesize=7 if bytesize == 7 else 8,
            parity=parity,
            stopbits=2 if stopbits == 2 else 1,
        )
    except UnknownProtocol as exc:
        return False, str(exc)
    except ValidationError as exc:  # a line the protocol cannot work over (TPM2 at 7E1…)
        return False, "; ".join(
            error["msg"].removeprefix("Value error, ") for error in exc.errors()
        )
    where = f"{port} at {baudrate} {settings.line_format}"
    check = create_protocol(settings).link_check()
    try:
        handle = open_port(settings)
    except PortErrors as exc:
        return False, f"cannot open {port}: {describe(exc)}"
    try:
        return _ask(handle, check, timeout, where, protocol)
    except PortErrors as exc:
        return False, f"{port}: {describe(exc)}"
    finally:
        close_quietly(handle)


def _ask(
    handle: Any, check: LinkCheck, timeout: float, where: str, protocol: str
) -> tuple[bool, str]:
    if check.request:
        handle.write(check.request)
    listen = max(timeout, check.min_listen_s)
    deadline = time.monotonic() + listen
    handle.timeout = READ_SLICE_S
    received = b""
    while time.monotonic() < deadline:
        received += handle.read(256)
        answer = check.recognise(received)
        if answer is not None:
            return True, f"{answer} on {where}"
    if check.silence_is_fine is not None:
        return True, f"{where} opened; {check.silence_is_fine}"
    hint = "; also the sign's address" if protocol == "alpha" else ""
    return False, (
        f"no answer from a {protocol} controller on {where} within {listen:.1f} s: check "
        f"the wiring (TX/RX crossed, ground), the baud rate and the line format{hint}"
    )
