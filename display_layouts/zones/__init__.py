"""Zone types: one module each, registered by `@zone_type` when imported.

`zone_types()` imports every module of this package once, so a new zone type is a new
file here and nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from display_layouts.zones.base import ZONE_TYPES, Zone


@cache
def zone_types() -> dict[str, type[Zone]]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return dict(sorted(ZONE_TYPES.items()))
