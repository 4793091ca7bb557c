"""The studio's /api handlers (STUDIO_API.md): a parsed JSON body in, a JSON document or
a PNG out, or `ApiError` with the problems (400, 404, 413) the page shows beside fields.

Items and playlists are checked by the board's own models and checks (agent.messages,
agent.content): what the studio accepts, a board accepts.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.preview.clips import ClipStore
from agent.studio import problems_vi
from agent.studio.layouts import Scan, StudioLayouts, listed
from agent.studio.sizes import parse_size
from display_layouts.input_problems import Problem, did_you_mean

if TYPE_CHECKING:
    from agent.messages import PlaylistItem
    from agent.studio.publishing import Publisher

# A still of text that scrolls: how far after the item started (a day is the longest an
# item is shown at a time, CONTRACT §3 duration_s).
MAX_AT_S = 86_400.0
_IN_ITEM = re.compile(r"^items\.\d+\.")


class ApiError(Exception):
    """A request refused: its HTTP status and the problems, each in both languages."""

    def __init__(self, status: int, problems: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(p["message_en"] for p in problems))
        self.status = status
        self.problems = problems


def refused(path: str, message: str, status: int = 400) -> ApiError:
    return ApiError(status, [problems_vi.problem(path, message)])


@dataclasses.dataclass
class Studio:
    """What the handlers share: the layouts, where playlists are saved, the publisher."""

    layouts: StudioLayouts
    save_dir: Path
    publisher: Publisher | None = None
    # The clips video slots name, downloaded once for the studio's life (never a path:
    # the page cannot give one, and a playlist carries a URL and SHA-256).
    clips: ClipStore = dataclasses.field(default_factory=lambda: ClipStore(local_paths=False))


def _keys(body: Mapping[str, Any], allowed: tuple[str, ...], required: tuple[str, ...]) -> None:
    """Unknown keys are refused (a misspelt "feilds" must not be silently ignored)."""
    found = []
    for key in body:
        if key not in allowed:
            hint = did_you_mean(key, allowed) or f"; expected {', '.join(allowed)}"
            found.append(problems_vi.problem(key, f"unknown key '{key[:64]}'{hint}"))
    for key in required:
        if key not in body:
            found.append(problems_vi.problem(key, f"'{key}' is required"))
    if found:
        raise ApiError(400, found)


def _object(body: Mapping[str, Any], key: str, default: Any = None) -> dict[str, Any]:
    value = body.get(key, default)
    if not isinstance(value, dict):
        raise refused(key, f"'{key}' must be a JSON object")
    return value


# --- GET /api/layouts -----------------------------------------------------------------


def layouts(studio: Studio) -> dict[str, Any]:
    scan = studio.layouts.current()
    problems = [
        {
            "source": str(skipped.path),
            "path": error.path,
            "line": error.line,
            "message_vi": problems_vi.layout_file_vi(str(skipped.path), error.message),
            "message_en": str(error),
        }
        for skipped in scan.skipped
        for error in skipped.errors
    ]
    return {"layouts": listed(scan), "problems": problems}


# --- items ------------------------------------------------------------------------------


def _unprefixed(problems: list[Problem], prefix: str) -> list[dict[str, Any]]:
    """The board's problems of an item checked alone (as items.0) as the item's own."""
    return [problems_vi.as_json(p, p.path.removeprefix(prefix)) for p in problems]


def _item_problems(scan: Scan, raw: Any, index: int | None) -> tuple[Any, list[Problem]]:
    """The item validated as a playlist's (model, then layouts and slots); the problems'
    paths are items.N.… when `index` is given, the item's own otherwise."""
    from pydantic import ValidationError

    from agent.content import check_playlist
    from agent.messages import Playlist, PlaylistItem
    from display_layouts.input_problems import from_validation

    prefix = "" if index is None else f"items.{index}."
    try:
        item = PlaylistItem.model_validate_json(json.dumps(raw), strict=True)
    except ValidationError as exc:
        found = [Problem(prefix + p.path, p.message) for p in from_validation(exc, PlaylistItem)]
        return None, found + _slot_problems(scan, raw, found, prefix)
    playlist = Playlist(type="playlist", version=0, issued_at=datetime.now(UTC), items=[item])
    checked = check_playlist(playlist, scan.library.specs)
    return item, [Problem(prefix + p.path.removeprefix("items.0."), p.message) for p in checked]


def _slot_problems(scan: Scan, raw: Any, found: list[Problem], prefix: str) -> list[Problem]:
    """The layout's and slots' problems of an item whose other parts are wrong (a bad
    date): the form shows them all at once, not one round at a time."""
    from pydantic import ValidationError

    from agent.content import check_playlist
    from agent.messages import Playlist, PlaylistItem

    touched = {p.path.removeprefix(prefix).split(".")[0] for p in found}
    if not isinstance(raw, dict) or touched & {"layout", "fields", "$", ""}:
        return []
    bare = {"id": "studio", "layout": raw.get("layout"), "fields": raw.get("fields", {})}
    try:
        item = PlaylistItem.model_validate_json(json.dumps(bare), strict=True)
    except ValidationError:
        return []
    playlist = Playlist(type="playlist", version=0, issued_at=datetime.now(UTC), items=[item])
    checked = check_playlist(playlist, scan.library.specs)
    return [Problem(prefix + p.path.removeprefix("items.0."), p.message) for p in checked]


def check(studio: Studio, body: dict[str, Any]) -> dict[str, Any]:
    _keys(body, ("item",), ("item",))
    raw = _object(body, "item")
    _item, problems = _item_problems(studio.layouts.current(), raw, None)
    return {"problems": [problems_vi.as_json(p) for p in problems]}


def playlist(studio: Studio, body: dict[str, Any]) -> dict[str, Any]:
    """The playlist of the page's items, as it would be saved or published, and every
    problem a board would find in it."""
    from pydantic import ValidationError

    from agent.content import check_playlist
    from agent.messages import Playlist
    from agent.messages.playlist import MAX_ITEMS
    from agent.preview.draft import board_zone
    from display_layouts.input_problems import from_validation

    _keys(body, ("version", "items"), ("items",))
    document = {
        "type": "playlist",
        "version": body.get("version", 1),
        "issued_at": datetime.now(board_zone()).isoformat(timespec="seconds"),
        "items": body["items"],
    }
    scan = studio.layouts.current()
    try:
        model = Playlist.model_validate_json(json.dumps(document), strict=True)
        problems = check_playlist(model, scan.library.specs)
    except ValidationError as exc:
        # The model stops at the first bad part of each item: each item is checked on
        # its own too, so that every item's slots are reported in the same round.
        problems = [p for p in from_validation(exc, Playlist) if not _IN_ITEM.match(p.path)]
        items = body["items"]
        if isinstance(items, list) and len(items) <= MAX_ITEMS:
            for index, raw in enumerate(items):
                if isinstance(raw, dict):
                    problems += _item_problems(scan, raw, index)[1]
    return {"playlist": document, "problems": [problems_vi.as_json(p) for p in problems]}


# --- POST /api/preview --------------------------------------------------------------------


def preview(studio: Studio, body: dict[str, Any]) -> bytes:
    from agent.preview.draft import validated_fields
    from agent.studio.still import ClipsFailed, still_png
    from agent.validation import InvalidInput
    from display_layouts.spec import SlotKind

    _keys(body, ("layout", "fields", "size", "led", "at"), ("layout",))
    name = body["layout"]
    if not isinstance(name, str):
        raise refused("layout", "'layout' must be a layout's name")
    fields = _object(body, "fields", {})
    try:
        size = parse_size(body.get("size", "1920x1080"))
    except ValueError as exc:
        raise refused("size", str(exc)) from None
    led = body.get("led", False)
    if not isinstance(led, bool):
        raise refused("led", "'led' must be true or false")
    at = body.get("at", 0)
    if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
        raise refused("at", "'at' must be a number of seconds")
    if not 0 <= at <= MAX_AT_S:
        raise refused("at", f"'at' must be between 0 and {MAX_AT_S:g} seconds")
    scan = studio.layouts.current()
    layout = scan.library.get(name)
    usable = [n for n in scan.library.names if not scan.library.layouts[n].reserved]
    if layout is None or layout.reserved:
        hint = did_you_mean(name, usable) or f"; known: {', '.join(usable)}"
        raise refused("layout", f"unknown layout '{name[:64]}'{hint}")
    try:
        fields = studio.clips.drawable(layout.spec, fields, None)
        item: PlaylistItem = validated_fields(layout, fields)
    except InvalidInput as exc:
        raise ApiError(400, _unprefixed(exc.errors, "items.0.")) from None
    try:
        return still_png(scan.library, item, size, led, float(at), clips=studio.clips)
    except ClipsFailed as exc:
        videos = [s.name for s in layout.spec.slots if s.kind is SlotKind.VIDEO]
        path = f"fields.{videos[0]}" if videos else ""
        raise ApiError(400, [problems_vi.problem(path, f) for f in exc.failures]) from None


# --- POST /api/save -------------------------------------------------------------------------

MAX_FILENAME_CHARS = 100
# A plain file name on every OS: no folder, no drive or stream (":"), nothing Windows
# refuses (<>"|?*), no leading dot (hidden, or "." and "..").
_FILENAME = r"^[^./\\:<>\"|?*\x00-\x1f][^/\\:<>\"|?*\x00-\x1f]*\.json$"
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"com{n}" for n in range(10))} | {
    f"lpt{n}" for n in range(10)
}


def saved_name(value: object) -> str:
    """The file name a playlist is saved under, or ApiError saying which rule it breaks."""
    import re

    if not isinstance(value, str):
        raise refused("filename", "'filename' must be text like thong-bao.json")
    if len(value) > MAX_FILENAME_CHARS:
        raise refused("filename", f"the file name is longer than {MAX_FILENAME_CHARS} characters")
    if "/" in value or "\\" in value:
        raise refused("filename", "the file name must be a plain name, without folders")
    if not value.lower().endswith(".json"):
        raise refused("filename", "the file name must end in .json")
    stem = value[: -len(".json")]
    if re.fullmatch(_FILENAME, value) is None or not stem.strip(". ") or value != value.strip():
        raise refused(
            "filename",
            'the file name must not start with a dot or contain : < > " | ? * or control '
            "characters",
        )
    if stem.split(".")[0].lower() in _WINDOWS_DEVICES:
        raise refused("filename", f"'{stem}' is a device name on Windows; choose another name")
    return value


def _validated(studio: Studio, document: dict[str, Any]) -> bytes:
    """The playlist file's bytes once the board's checks find nothing, else ApiError."""
    from agent.content import parse_playlist
    from agent.validation import InvalidInput

    data = (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    try:
        parse_playlist(
            data, layouts=studio.layouts.current().library.specs, max_bytes=len(data) + 1
        )
    except InvalidInput as exc:
        raise ApiError(400, [problems_vi.as_json(p) for p in exc.errors]) from None
    return data


def save(studio: Studio, body: dict[str, Any]) -> dict[str, Any]:
    """The playlist written atomically into the save folder, once a board would take it."""
    from agent.storage import atomic_write

    _keys(body, ("filename", "playlist"), ("filename", "playlist"))
    name = saved_name(body["filename"])
    document = _object(body, "playlist")
    data = _validated(studio, document)
    path = studio.save_dir.resolve() / name
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise refused("filename", f"cannot write {path}: {exc.strerror or exc}", 500) from None
    return {"saved": str(path)}


# --- /api/publish -----------------------------------------------------------------------------

TARGETS_HINT = "city, district/<district>, commune/<district>/<commune>, board/<id>, group/<name>"


def publish_info(studio: Studio) -> dict[str, Any]:
    return {"enabled": studio.publisher is not None, "targets_hint": TARGETS_HINT}


def publish(studio: Studio, body: dict[str, Any]) -> dict[str, Any]:
    if studio.publisher is None:
        raise refused("$", "publishing is off: start the studio with --broker HOST:PORT", 404)
    _keys(body, ("playlist", "to"), ("playlist", "to"))
    document = _object(body, "playlist")
    to = body["to"]
    if not isinstance(to, str) or not to:
        raise refused("to", "'to' must be a target such as city or district/<district>")
    from agent.studio.publishing import PublishRefused

    _validated(studio, document)  # the board's problems, beside the fields, first
    try:
        return {"said": studio.publisher.publish(document, to)}
    except PublishRefused as exc:
        raise ApiError(exc.status, exc.problems) from None
