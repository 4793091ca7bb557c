"""Time zones by name: from the system's database, or from the `tzdata` package where
there is none (Windows; a slim container). With neither, the commands say so in one line
instead of failing with a traceback at whatever first needs a zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class NoZoneDatabase(Exception):
    """This computer has no time-zone database at all: not even UTC can be looked up."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"no time-zone database on this computer to look up '{key}' in: "
            "install the tzdata package (pip install tzdata)"
        )
        self.key = key


def zone(key: str) -> ZoneInfo:
    """The zone named `key`; `ZoneInfoNotFoundError` when it is unknown (or `ValueError`
    when it is no zone name at all), `NoZoneDatabase` when no zone can be found."""
    try:
        return ZoneInfo(key)
    except ZoneInfoNotFoundError:
        if not has_database():
            raise NoZoneDatabase(key) from None
        raise


def has_database() -> bool:
    try:
        ZoneInfo("UTC")
    except ZoneInfoNotFoundError:
        return False
    return True
