"""The board's problems in Vietnamese, beside the form field they concern.

The board speaks English (its events and logs are read by technicians); a content
manager reads Vietnamese. Each row of `_TABLE` matches one shape of English sentence the
board's validation produces for a playlist item and says it in Vietnamese, keeping the
parts that name things (a slot, a number, a suggestion). tests/studio/test_api_vi.py
provokes every row with a real bad input, so a changed English sentence fails a test
instead of silently falling back. A sentence no row knows gets the generic Vietnamese
line and the English text itself.
"""

from __future__ import annotations

import re
from typing import Any

from display_layouts.input_problems import Problem

GENERIC_VI = "Nội dung này chưa hợp lệ"

# (English shape, Vietnamese with the shape's groups by name). First match wins: the
# more specific shapes come first.
_TABLE: tuple[tuple[str, str], ...] = ()
_COMPILED = tuple((re.compile(shape, re.DOTALL), vi) for shape, vi in _TABLE)

_ITEM_PREFIX = re.compile(r"^items\.\d+\.")
_ITEM_FIELDS = ("id", "layout", "duration_s", "priority", "valid_from", "valid_until", "schedule")


def in_vietnamese(message: str) -> str:
    """`message` (the board's English) said in Vietnamese."""
    for shape, vi in _COMPILED:
        found = shape.fullmatch(message)
        if found is not None:
            return vi.format(**found.groupdict())
    return f"{GENERIC_VI} ({message})"


def form_field(path: str) -> str:
    """The form field a problem's path concerns: "fields.body" -> "body", "items.2.valid_until"
    -> "valid_until", "schedule.0.days" -> "schedule"; "" for the whole item or body."""
    path = _ITEM_PREFIX.sub("", path)
    parts = path.split(".")
    if parts[0] == "fields" and len(parts) > 1:
        return parts[1]
    if parts[0] in _ITEM_FIELDS:
        return parts[0]
    return parts[0] if parts[0] not in ("", "$") else ""


def as_json(problem: Problem, path: str | None = None) -> dict[str, Any]:
    """A problem as the page shows it (STUDIO_API.md): `path` replaces the problem's own
    (an item checked alone is items.0 to the board, the item itself to the page)."""
    shown = problem.path if path is None else path
    return {
        "path": shown,
        "field": form_field(shown),
        "message_vi": in_vietnamese(problem.message),
        "message_en": problem.message,
    }


def problem(path: str, message: str) -> dict[str, Any]:
    """A problem of the request itself (not of the board's validation), in both languages."""
    return as_json(Problem(path, message))


def layout_file_vi(source: str, message: str) -> str:
    """A layout file's problem (the folder's file is left out, the others work)."""
    return f"Tệp bố cục {source} có lỗi nên không dùng được: {in_vietnamese(message)}"
