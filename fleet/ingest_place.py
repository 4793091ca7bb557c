"""Where a board belongs, from its heartbeat's `assignment` (CONTRACT §8): district,
commune, groups, area codes and location, the columns alert reach selects boards by.

Each key present replaces its column (null clears it); a key that is bad is reported
and its column left as it was, so one bad key never loses the rest of a good heartbeat.
Keys not named here are ignored (they stay in the stored heartbeat).
"""

from __future__ import annotations

from collections.abc import Callable

from fleet.ingest_checks import BadPayload, location, slug_list, text_list
from fleet.store.models import Board

MAX_GROUPS = 100
MAX_AREA_CODES = 200
MAX_AREA_CODE = 64


def _district(board: Board, value: object) -> None:
    board.district = None if value is None else slug_list([value], "district", 1)[0]


def _commune(board: Board, value: object) -> None:
    board.commune = None if value is None else slug_list([value], "commune", 1)[0]


def _groups(board: Board, value: object) -> None:
    board.groups = slug_list(value, "groups", MAX_GROUPS)


def _area_codes(board: Board, value: object) -> None:
    board.area_codes = text_list(value, "area_codes", MAX_AREA_CODES, MAX_AREA_CODE)


def _location(board: Board, value: object) -> None:
    place = location(value)
    board.latitude, board.longitude = place if place is not None else (None, None)


PLACE_KEYS: dict[str, Callable[[Board, object], None]] = {
    "district": _district,
    "commune": _commune,
    "groups": _groups,
    "area_codes": _area_codes,
    "location": _location,
}


def apply_place(board: Board, assignment: object) -> list[str]:
    """Applies the assignment's place keys to the board; returns the problems."""
    if not isinstance(assignment, dict):
        return []
    problems: list[str] = []
    for key, apply in PLACE_KEYS.items():
        if key in assignment:
            try:
                apply(board, assignment[key])
            except BadPayload as bad:
                problems.append(str(bad))
    return problems
