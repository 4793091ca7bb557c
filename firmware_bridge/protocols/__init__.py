"""Controller protocols, found by name (`[serial] protocol`).

A protocol `<name>` is two modules side by side:

- `<name>_settings.py`: its `[serial]` keys, a settings model with
  `protocol: Literal["<name>"]` (see `common.ProtocolSettings`) and the line it needs,
  one line in `section.SerialSettings`. Loaded with any config that has `[serial]`
  (`validate` on a laptop too), so they import nothing but pydantic.
- `<name>.py` (or a package `<name>/`): its code, with `create(settings)
  -> ControllerProtocol` (see `base.py`), loaded only when a board opens its controller.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from firmware_bridge.protocols.section import (
    PROTOCOLS,
    SerialSection,
    SerialSettings,
    UnknownProtocol,
    read_section,
    serial_settings,
    unchecked_settings,
)

if TYPE_CHECKING:
    from firmware_bridge.protocols.base import ControllerProtocol

__all__ = [
    "PROTOCOLS",
    "SerialSection",
    "SerialSettings",
    "UnknownProtocol",
    "create_protocol",
    "read_section",
    "serial_settings",
    "unchecked_settings",
]


def create_protocol(settings: SerialSettings) -> ControllerProtocol:
    module = importlib.import_module(f"firmware_bridge.protocols.{settings.protocol}")
    protocol: ControllerProtocol = module.create(settings)
    return protocol
