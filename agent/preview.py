"""`signage-agent preview`: a content manager draws a layout exactly as the board will."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent.content import check_playlist
from agent.messages import Playlist, PlaylistItem
from agent.validation import InvalidInput, errors_from
from display_layouts.catalog import BUILTIN_LAYOUTS

EX_USAGE = 2


def parse_size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise ValueError(f"size must look like 1920x1080, not {text!r}")
    size = (int(width), int(height))
    if not all(8 <= n <= 8192 for n in size):
        raise ValueError("width and height must be between 8 and 8192 pixels")
    return size


def load_fields(layout: str, content: Path | None) -> dict[str, Any]:
    """Slot values from a playlist file (its first item of `layout`) or a JSON object."""
    if content is None:
        return {}
    data = json.loads(content.read_text(encoding="utf-8"))
    if isinstance(data, dict) and data.get("type") == "playlist":
        items = [i for i in data.get("items", []) if isinstance(i, dict)]
        chosen = next((i for i in items if i.get("layout") == layout), None)
        if chosen is None:
            raise ValueError(f"{content}: no item with layout '{layout}'")
        fields = chosen.get("fields", {})
    else:
        fields = data
    if not isinstance(fields, dict):
        raise ValueError(f"{content}: expected a JSON object of slot values")
    return fields


def validated_fields(layout: str, fields: dict[str, Any]) -> PlaylistItem:
    from pydantic import ValidationError

    raw = {"id": "preview", "layout": layout, "fields": fields}
    try:
        item = PlaylistItem.model_validate_json(json.dumps(raw), strict=True)
    except ValidationError as exc:
        raise InvalidInput(errors_from(exc)) from None
    playlist = Playlist(type="playlist", version=0, issued_at=datetime.now(UTC), items=[item])
    errors = check_playlist(playlist, BUILTIN_LAYOUTS)
    if errors:
        raise InvalidInput(errors)
    return item


def preview(args: argparse.Namespace) -> int:
    if args.watch or args.led:
        print("preview: --watch and --led are not available in this version yet", file=sys.stderr)
        return EX_USAGE
    try:
        size = parse_size(args.size)
        item = validated_fields(args.layout, load_fields(args.layout, args.content))
    except (ValueError, OSError) as exc:
        print(f"preview: {exc}", file=sys.stderr)
        return 1
    except InvalidInput as exc:
        for e in exc.errors:
            print(f"preview: {args.content or args.layout}: {e.path}: {e.message}", file=sys.stderr)
        return 1
    return _draw(item, size, args.out)


def _draw(item: PlaylistItem, size: tuple[int, int], out: Path | None) -> int:
    import pygame

    from agent.output import ScreenOutput, png_bytes
    from agent.storage import atomic_write
    from display_layouts.render import Renderer, Scene

    now = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))
    scene = Scene(item.layout, item.fields, "Bảng tin phường", now)
    renderer = Renderer(size)
    if out is not None:
        surface = pygame.Surface(size)
        renderer.draw(surface, scene)
        atomic_write(out, png_bytes(surface))
        print(f"wrote {out} ({size[0]}x{size[1]})")
        return 0
    screen = ScreenOutput(size, fullscreen=False)
    renderer.draw(screen.canvas, scene)
    screen.present()
    while screen.pump():
        pygame.time.wait(100)
    screen.close()
    return 0
