"""The fleet's defaults, in a module that imports nothing: the command line reads them
where the [fleet] extra may be missing."""

from __future__ import annotations

from typing import Final

DEFAULT_DB_URL: Final = "sqlite:///signage-fleet.db"  # a file in the working directory
DEFAULT_LISTEN: Final = "127.0.0.1:8080"
DEFAULT_ROOT: Final = "signage/v1"  # the boards' topic_root
