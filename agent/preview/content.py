"""A preview's content file, in any of the forms a content manager has at hand: a whole
playlist, one playlist item as the docs show one (`{"id", "layout", "fields"}`), or a
bare JSON object of slot values. Parsed as strictly as the board parses a playlist."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path
from typing import Any, TypeGuard

from agent.validation import parse_json
from signage_base.portable import READ_FLAGS

# A content file holds at most a playlist's slots, pictures inline included (16 slots of
# up to 512 KiB each, base64): anything larger is no content file.
MAX_CONTENT_BYTES = 16 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Content:
    """The slot values to draw, the layout the file names for them (None: a bare object
    of slots, which names none), and the item's other keys (schedule, duration…), which
    are checked as the board checks them."""

    fields: dict[str, Any]
    layout: str | None = None
    item: dict[str, Any] = dataclasses.field(default_factory=dict)


def read_content(path: Path, layout: str | None) -> Content:
    """The content of `path` for `layout` (a playlist's first item of that layout), or
    for the layout the file names when `layout` is None. `ValueError` naming the file
    when it holds nothing to draw for `layout`; `InvalidInput` when it is not strict JSON."""
    return content_of(parse_json(_read_text(path)), path, layout)


def content_of(data: object, source: Path | str, layout: str | None) -> Content:
    """The same for content already parsed (the studio's form); `source` names it."""
    if _is_playlist(data):
        assert isinstance(data, dict)
        return _from_playlist(source, data, layout)
    if _is_item(data):
        assert isinstance(data, dict)
        return _from_item(source, data, layout)
    if not isinstance(data, dict):
        raise ValueError(
            f"{source}: expected a playlist, a playlist item or a JSON object of slots"
        )
    return Content(data)


def load_fields(layout: str, content: Path | None) -> dict[str, Any]:
    """Slot values from a playlist file (its first item of `layout`), an item, or a JSON
    object of slots."""
    return {} if content is None else read_content(content, layout).fields


def _is_playlist(data: object) -> TypeGuard[dict[str, Any]]:
    return isinstance(data, dict) and data.get("type") == "playlist"


def _is_item(data: object) -> TypeGuard[dict[str, Any]]:
    # A bare object of slots has no `fields` holding an object: layouts' slots are the
    # names zones show ({title}), and a `layout` beside `fields` is an item's.
    return isinstance(data, dict) and "layout" in data and isinstance(data.get("fields"), dict)


def _from_playlist(path: Path | str, data: dict[str, Any], layout: str | None) -> Content:
    raw_items = data.get("items")
    items = [i for i in raw_items if _is_item(i)] if isinstance(raw_items, list) else []
    if layout is None:
        if not items:
            raise ValueError(f"{path}: the playlist has no item to preview")
        return _item_content(items[0])
    chosen = next((i for i in items if i.get("layout") == layout), None)
    if chosen is None:
        used = sorted({str(i.get("layout")) for i in items})
        known = f"; its items use {', '.join(used)}" if used else ""
        raise ValueError(f"{path}: no item with layout '{layout}'{known}")
    return _item_content(chosen)


def _from_item(path: Path | str, data: dict[str, Any], layout: str | None) -> Content:
    named = data.get("layout")
    if layout is not None and named != layout:
        raise ValueError(
            f"{path}: the item is for layout '{named}', not '{layout}' (leave out LAYOUT "
            'to preview it with its own, or change its "layout")'
        )
    return _item_content(data)


def _item_content(item: dict[str, Any]) -> Content:
    extras = {k: v for k, v in item.items() if k not in ("layout", "fields")}
    layout = item.get("layout")
    return Content(item["fields"], layout if isinstance(layout, str) else None, extras)


def _read_text(path: Path) -> str:
    """The file's text: a regular file (a FIFO must not hang the preview) of a bounded
    size, UTF-8."""
    fd = os.open(path, READ_FLAGS)
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path}: not a file")
        raw = file.read(MAX_CONTENT_BYTES + 1)
    if len(raw) > MAX_CONTENT_BYTES:
        raise ValueError(f"{path}: larger than {MAX_CONTENT_BYTES // (1024 * 1024)} MiB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
