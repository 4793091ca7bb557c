"""`signage-agent validate FILE…`: playlists, alerts, commands (JSON), CAP alerts (XML),
keyrings, configs (TOML) and layout files (YAML); any message also signed (a JWS, CONTRACT
§7): its inner message is checked, and with `--config` its signature too, as that board
would check it."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from agent.config import ConfigError, load_config
from agent.content import parse_playlist
from agent.messages import Alert, Command, Keyring
from agent.validation import InvalidInput, Problem, decode

if TYPE_CHECKING:
    from agent.config import AgentConfig
    from display_layouts.spec import LayoutSpec

MAX_FILE_BYTES = 64 * 1024 * 1024


def _payload_type(raw: bytes) -> object:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return data.get("type") if isinstance(data, dict) else None


def _check_config(path: Path) -> tuple[str, list[str]]:
    try:
        config = load_config(path, env={}, files_elsewhere=True)
    except ConfigError as exc:
        return "config", [p.within(path) for p in exc.errors]
    return f"config of board {config.board.id}", []


# What boards publish (CONTRACT §2, outbound): validated against their own models.
OUTBOUND_KINDS = ("heartbeat", "event", "command_result", "status")


def _outbound_kind(raw: bytes) -> str | None:
    """`heartbeat`, `event`, `command_result` or `status` (told by its `state`), else None."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    kind = data.get("type")
    if kind is None and "state" in data:
        return "status"
    return kind if isinstance(kind, str) and kind in OUTBOUND_KINDS else None


def _check_outbound(raw: bytes, kind: str) -> tuple[str, list[str]]:
    """An example of what a board sends: checked against that payload's own schema, and
    said to be outbound (a board never takes one as input)."""
    from pydantic import TypeAdapter, ValidationError

    from agent.messages import CommandResult, Event, Heartbeat, Status
    from agent.validation import parse_json
    from display_layouts.input_problems import from_validation

    types: dict[str, Any] = {
        "heartbeat": Heartbeat,
        "event": Event,
        "command_result": CommandResult,
        "status": Status,
    }
    label = f"outbound {kind}: what a board publishes, not an input to it"
    where = f"outbound {kind}"  # before each problem: these are not input errors
    try:
        text = raw.decode("utf-8")
        parse_json(text)
        TypeAdapter(types[kind]).validate_json(text)
    except UnicodeDecodeError as exc:
        return label, [f"{where}: $: not UTF-8: invalid byte at offset {exc.start}"]
    except InvalidInput as exc:
        return label, [str(Problem(e.path, e.message, where)) for e in exc.errors]
    except ValidationError as exc:
        # The event union's `kind` tag, which pydantic puts first in a path, is left out.
        found = from_validation(exc, types[kind])
        return label, [str(Problem(e.path, e.message, where)) for e in found]
    return label + "; valid against its schema", []


def _check_cap(raw: bytes) -> tuple[str, list[str]]:
    from agent.cap import parse_cap

    try:
        message = parse_cap(raw)
    except InvalidInput as exc:
        return "CAP alert", [str(e) for e in exc.errors]
    return f"CAP alert {message.identifier} ({message.msg_type})", []


def _check_signed(
    raw: bytes, config: AgentConfig | None, layouts: Mapping[str, LayoutSpec] | None
) -> tuple[str, list[str]]:
    """A signed message: the JWS read, the signature checked with `config`'s keys (else
    said to be unchecked), then the inner message as an unsigned one."""
    from agent.trust.jws import parse_jws

    try:
        jws = parse_jws(raw, max_bytes=MAX_FILE_BYTES)
    except InvalidInput as exc:
        return "signed message", [str(e) for e in exc.errors]
    signed = f"signed by {jws.kid}, signature not checked (give --config)"
    if config is not None:
        from agent.trust.verify import decide, route_of, trust_desk

        route = route_of(config, None, raw)
        assert not isinstance(route, str)  # without a topic there is always a route
        verdict, why, _inner = decide(trust_desk(config, sys.stderr), route, raw, _now())
        if verdict == "refused":
            return "signed message", [f"$: {why}"]
        signed = why
    what, problems = check_payload(jws.payload, layouts=layouts)
    return f"{what}, {signed}", problems


def _now() -> datetime:
    return datetime.now(UTC)


def check_payload(
    raw: bytes,
    config: AgentConfig | None = None,
    *,
    layouts: Mapping[str, LayoutSpec] | None = None,
) -> tuple[str, list[str]]:
    """What a message is and its problems, as a board would decode it; a playlist is
    checked against `layouts` (the built-in ones when None)."""
    from agent.trust.jws import looks_like_jws

    if looks_like_jws(raw):
        return _check_signed(raw, config, layouts)
    if raw.lstrip()[:1] == b"<":
        return _check_cap(raw)
    outbound = _outbound_kind(raw)
    if outbound is not None:
        return _check_outbound(raw, outbound)
    return _check_inbound(raw, layouts)


def _check_inbound(raw: bytes, layouts: Mapping[str, LayoutSpec] | None) -> tuple[str, list[str]]:
    kind = _payload_type(raw)
    label = kind if kind in ("alert", "command", "keyring") else "playlist"
    try:
        if kind == "keyring":
            keyring = decode(raw, Keyring, max_bytes=MAX_FILE_BYTES)
            return f"keyring version {keyring.version}, {len(keyring.keys)} keys", []
        if kind == "alert":
            alert = decode(raw, Alert, max_bytes=MAX_FILE_BYTES)
            return f"alert {alert.id} ({alert.msg_type}, {alert.severity})", []
        if kind == "command":
            command = decode(raw, Command, max_bytes=MAX_FILE_BYTES)
            return f"command {command.command}", []
        if layouts is None:
            playlist = parse_playlist(raw, max_bytes=MAX_FILE_BYTES)
        else:
            playlist = parse_playlist(raw, layouts=layouts, max_bytes=MAX_FILE_BYTES)
    except InvalidInput as exc:
        return str(label), [str(e) for e in exc.errors]
    return f"playlist version {playlist.version}, {len(playlist.items)} items", []


def _check_layout(path: Path) -> tuple[str, list[str]]:
    from display_layouts.catalog import BUILTIN_LAYOUTS, LayoutError
    from display_layouts.library import BUILTIN_DIR
    from display_layouts.loader import load_layout_file

    try:
        layout = load_layout_file(path)
    except LayoutError as exc:
        return "layout", [p.within(path) for p in exc.errors]
    slots = ", ".join(s.name if s.required else f"{s.name}?" for s in layout.spec.slots)
    what = f"layout {layout.name}, slots: {slots or 'none'}"
    shipped = path.resolve().parent == BUILTIN_DIR
    if layout.name in BUILTIN_LAYOUTS and not layout.override and not shipped:
        # Valid on its own; the agent refuses it in a layouts folder (see docs/layouts.md).
        what += "; a built-in layout of this name exists: add `override: true` to replace it"
    return what, []


def check_file(
    path: Path,
    config: AgentConfig | None = None,
    *,
    layouts: Mapping[str, LayoutSpec] | None = None,
) -> tuple[str, list[str]]:
    """What the file is, and its problems as `path: message` lines (none when valid)."""
    if path.suffix == ".toml":
        return _check_config(path)
    if path.suffix in (".yaml", ".yml"):
        return _check_layout(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return "file", [f"$: cannot read: {exc.strerror or exc}"]
    return check_payload(raw, config, layouts=layouts)


def validate_files(
    paths: list[Path],
    out: TextIO,
    config: AgentConfig | None = None,
    *,
    layouts_dir: Path | None = None,
) -> int:
    """Each file checked; with `layouts_dir`, playlists against the built-in layouts and
    that folder's (as a board with that `[display] layouts_dir` takes them), and a file
    the folder's scan leaves out counts as a failure."""
    failed = 0
    layouts: Mapping[str, LayoutSpec] | None = None
    if layouts_dir is not None:
        from display_layouts.library import scan_library

        scan = scan_library(layouts_dir)
        for skipped in scan.skipped:
            failed += 1
            print(skipped.summary(limit=len(skipped.errors)), file=out)
        layouts = scan.library.specs
    for path in paths:
        what, problems = check_file(path, config, layouts=layouts)
        if problems:
            failed += 1
            for problem in problems:
                print(f"{path}: {problem}", file=out)
        else:
            print(f"{path}: ok ({what})", file=out)
            for warning in text_warnings(path):
                print(f"{path}: warning: {warning}", file=out)
    return 1 if failed else 0


def config_file_warnings(path: Path) -> list[str]:
    """Files a valid config names that this machine cannot read: fine here, fatal on a board."""
    mqtt = load_config(path, env={}, files_elsewhere=True).mqtt
    if mqtt is None:
        return []
    return [
        f"{key}: cannot read {file} here; it must be readable on the board"
        for key, file in mqtt.named_files().items()
        if not os.access(file, os.R_OK)
    ]


def text_warnings(path: Path) -> list[str]:
    """For a valid playlist or alert: texts the board would show with characters left out."""
    from agent.alert_slots import alert_texts
    from agent.content import glyph_warnings, playlist_texts

    if path.suffix == ".toml":
        return config_file_warnings(path)
    if path.suffix not in (".json", ""):
        return []
    raw = path.read_bytes()
    from agent.trust.jws import looks_like_jws, parse_jws

    if looks_like_jws(raw):
        raw = parse_jws(raw, max_bytes=MAX_FILE_BYTES).payload  # valid: checked before
    kind = _payload_type(raw)
    if kind == "alert":
        texts = alert_texts(decode(raw, Alert, max_bytes=MAX_FILE_BYTES))
    elif kind == "playlist":
        # Checked against its layouts before (maybe a --layouts-dir's): only its texts here.
        playlist = parse_playlist(raw, max_bytes=MAX_FILE_BYTES, wait_for_layouts=True)
        texts = playlist_texts(playlist)
    else:
        return []
    return [f"{w.path}: {w.message}" for w in glyph_warnings(texts)]
