"""Controller protocols, one module each, found by name (`[serial] protocol`)."""

from __future__ import annotations

import importlib

from firmware_bridge.protocols.base import ControllerProtocol
from firmware_bridge.settings import BridgeSettings


class UnknownProtocol(ValueError):
    pass


def create_protocol(settings: BridgeSettings) -> ControllerProtocol:
    name = settings.protocol
    if not name.isidentifier() or name.startswith("_") or name == "base":
        raise UnknownProtocol(f"unknown serial protocol {name!r}")
    try:
        module = importlib.import_module(f"firmware_bridge.protocols.{name}")
    except ModuleNotFoundError:
        raise UnknownProtocol(f"unknown serial protocol {name!r}") from None
    protocol: ControllerProtocol = module.create(settings)
    return protocol
