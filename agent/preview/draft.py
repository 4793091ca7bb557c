"""What a preview draws: a layout (a name or a draft file), the slot values from a
content file, checked as the board would check them, and the canvas size."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from agent.content import check_playlist
from agent.messages import Playlist, PlaylistItem
from agent.validation import InvalidInput, parse_json
from display_layouts.catalog import LayoutLibrary, load_library
from display_layouts.input_problems import Problem, Problems, did_you_mean, from_validation

if TYPE_CHECKING:
    from display_layouts.layout import Layout
    from display_layouts.render import Renderer, Scene

BOARD_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
BOARD_NAME = "Bảng tin phường"


# What is wrong with the layout or content: the one problem exception (`problems` are
# its lines, each naming the file).
PreviewError = Problems


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
    data = parse_json(content.read_text(encoding="utf-8"))  # as strict as the board
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


def validated_fields(layout: Layout, fields: dict[str, Any]) -> PlaylistItem:
    """The fields checked as a playlist item would be; reserved layouts (alerts, idle)
    may be previewed too."""
    from pydantic import ValidationError

    raw = {"id": "preview", "layout": layout.name, "fields": fields}
    try:
        item = PlaylistItem.model_validate_json(json.dumps(raw), strict=True)
    except ValidationError as exc:
        raise InvalidInput(from_validation(exc, PlaylistItem)) from None
    playlist = Playlist(type="playlist", version=0, issued_at=datetime.now(UTC), items=[item])
    spec = dataclasses.replace(layout.spec, reserved=False)
    errors = check_playlist(playlist, {layout.name: spec})
    if errors:
        raise InvalidInput(errors)
    return item


@dataclasses.dataclass
class Preview:
    """What to draw: a layout (name or file), its content, the canvas."""

    layout: str
    content: Path | None
    size: tuple[int, int]
    led: bool = False
    started: datetime = dataclasses.field(default_factory=lambda: datetime.now(BOARD_ZONE))

    @property
    def layout_file(self) -> Path | None:
        path = Path(self.layout)
        return path if path.suffix in (".yaml", ".yml") else None

    def watched(self) -> list[Path]:
        return [p for p in (self.layout_file, self.content) if p is not None]

    def load(self) -> tuple[Renderer, Scene]:
        """A renderer and scene for the files as they are now; PreviewError if invalid."""
        from display_layouts.render import Renderer

        library, layout = self._layout()
        try:
            item = validated_fields(layout, load_fields(layout.name, self.content))
        except (ValueError, OSError) as exc:
            message = str(exc)
            if self.content is not None and not message.startswith(str(self.content)):
                message = f"{self.content}: {message}"  # json's own errors name no file
            raise PreviewError([Problem("", message)]) from None
        except InvalidInput as exc:
            where = str(self.content or self.layout)  # the fields' problems name their file
            raise PreviewError([Problem(e.path, e.message, where) for e in exc.errors]) from None
        renderer = Renderer(self.size, library=library, panel="led" if self.led else None)
        return renderer, self.scene(item)

    def scene(self, item: PlaylistItem) -> Scene:
        from display_layouts.render import Scene

        now = datetime.now(BOARD_ZONE)
        return Scene(item.layout, item.fields, BOARD_NAME, now, started=self.started)

    def _layout(self) -> tuple[LayoutLibrary, Layout]:
        """The library and the layout to draw: a file is added to the built-in ones (its
        name need not match the file's while it is a draft)."""
        from display_layouts.loader import load_layout_file

        path = self.layout_file
        library = load_library()  # a layout file's problems name the file and line
        if path is not None:
            drafted = load_layout_file(path, check_name=False)
            return library.with_layout(drafted), drafted
        layout = library.get(self.layout)
        if layout is None:
            names = library.names
            hint = did_you_mean(self.layout, names) or f"; known: {', '.join(names)}"
            raise PreviewError([Problem("", f"unknown layout '{self.layout}'{hint}")])
        return library, layout
