"""What a preview draws: a layout (a name or a draft file), the slot values from a
content file, checked as the board would check them, and the canvas size."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.content import check_playlist
from agent.messages import Playlist, PlaylistItem
from agent.messages.base import DEFAULT_BOARD_ZONE
from agent.preview.clips import ClipStore
from agent.preview.content import Content, content_of, load_fields, read_content
from agent.preview.images import PictureStore
from agent.time_zones import zone
from agent.validation import InvalidInput
from display_layouts.catalog import LayoutLibrary, load_library
from display_layouts.input_problems import Problem, Problems, did_you_mean, from_validation

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from display_layouts.layout import Layout
    from display_layouts.render import Renderer, Scene

BOARD_NAME = "Bảng tin phường"

__all__ = [
    "BOARD_NAME",
    "Preview",
    "PreviewError",
    "board_zone",
    "check_at",
    "load_fields",
    "parse_size",
    "validated_fields",
]


def board_zone() -> ZoneInfo:
    """The zone a preview's clocks show (a board's default). Looked up when first drawn,
    not at import: from the `tzdata` package where the system has no database (Windows),
    and `NoZoneDatabase`, said in one line, where there is neither."""
    return zone(DEFAULT_BOARD_ZONE)


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


MAX_AT_S = 86_400  # an item is on screen for at most a day (duration_s)


def check_at(seconds: float | None) -> None:
    """`--at`: a moment of an item's time on screen, in seconds from its start."""
    if seconds is not None and not (math.isfinite(seconds) and 0 <= seconds <= MAX_AT_S):
        raise ValueError(f"--at must be seconds from 0 to {MAX_AT_S}, not {seconds:g}")


def validated_fields(
    layout: Layout, fields: dict[str, Any], others: Mapping[str, Any] | None = None
) -> PlaylistItem:
    """The fields checked as a playlist item would be, with the item's other keys
    (`others`: schedule, duration…) when the content is an item; reserved layouts
    (alerts, idle) may be previewed too."""
    from pydantic import ValidationError

    raw = {"id": "preview", **(others or {}), "layout": layout.name, "fields": fields}
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
    """What to draw: a layout (name or file; None: the one the content's item names), its
    content, the canvas. `started` is when the item went on screen: a still `at` seconds
    is the frame at `started + at`."""

    layout: str | None
    content: Path | None
    size: tuple[int, int]
    led: bool = False
    started: datetime = dataclasses.field(default_factory=lambda: datetime.now(board_zone()))
    pictures: PictureStore = dataclasses.field(
        default_factory=PictureStore, repr=False, compare=False
    )
    clips: ClipStore = dataclasses.field(default_factory=ClipStore, repr=False, compare=False)
    # Content given as parsed JSON instead of a file (the studio's form): slots, an item
    # or a playlist, as a file would hold them; local picture paths relative to the cwd.
    data: object = None

    @property
    def layout_file(self) -> Path | None:
        if self.layout is None:
            return None
        path = Path(self.layout)
        return path if path.suffix in (".yaml", ".yml") else None

    def watched(self) -> list[Path]:
        return [p for p in (self.layout_file, self.content) if p is not None]

    def load(self, at: float | None = None) -> tuple[Renderer, Scene]:
        """A renderer and scene for the files as they are now (at `at` seconds after the
        start, or now); PreviewError if invalid."""
        from display_layouts.render import Renderer

        if self.layout is None:
            content = self._content(None)
            library, layout = self._layout(content.layout)
        else:
            library, layout = self._layout(self.layout)
            content = self._content(layout.name)
        base = None if self.content is None else self.content.parent
        try:
            fields = self.pictures.drawable(layout.spec, content.fields, base)
            fields = self.clips.drawable(layout.spec, fields, base)
            item = validated_fields(layout, fields, content.item)
        except InvalidInput as exc:
            raise self._problems(exc) from None
        # A clip loops for the item's duration_s when the item gives one, else plays once.
        given = "duration_s" in item.model_fields_set
        self.clips.duration_s = float(item.duration_s) if given else None
        renderer = Renderer(
            self.size,
            library=library,
            images=self.pictures.source,
            videos=self.clips,
            panel="led" if self.led else None,
        )
        return renderer, self.scene(item, at)

    def scene(self, item: PlaylistItem, at: float | None = None) -> Scene:
        from display_layouts.render import Scene

        # A still (`at`) is drawn at its moment, never by waiting for it.
        now = datetime.now(board_zone()) if at is None else self.started + timedelta(seconds=at)
        return Scene(item.layout, item.fields, BOARD_NAME, now, started=self.started)

    def _content(self, layout: str | None) -> Content:
        if self.data is not None:
            try:
                return content_of(self.data, "content", layout)
            except ValueError as exc:
                raise PreviewError([Problem("", str(exc))]) from None
        if self.content is None:
            if layout is None:
                message = "name a LAYOUT, or a --content file whose item names one"
                raise PreviewError([Problem("", message)])
            return Content({})
        try:
            return read_content(self.content, layout)
        except (ValueError, OSError) as exc:
            message = str(exc)
            if not message.startswith(str(self.content)):
                message = f"{self.content}: {message}"  # json's own errors name no file
            raise PreviewError([Problem("", message)]) from None
        except InvalidInput as exc:
            raise self._problems(exc) from None

    @property
    def source(self) -> str:
        """What the content's problems are said to be in: its file, else "content"."""
        if self.content is not None:
            return str(self.content)
        return "content" if self.data is not None else str(self.layout)

    def _problems(self, exc: InvalidInput) -> PreviewError:
        # The fields' problems name their file.
        return PreviewError([Problem(e.path, e.message, self.source) for e in exc.errors])

    def _layout(self, name: str | None) -> tuple[LayoutLibrary, Layout]:
        """The library and the layout to draw: a file is added to the built-in ones (its
        name need not match the file's while it is a draft)."""
        from display_layouts.loader import load_layout_file

        path = self.layout_file
        library = load_library()  # a layout file's problems name the file and line
        if path is not None:
            drafted = load_layout_file(path, check_name=False)
            return library.with_layout(drafted), drafted
        if name is None:  # no LAYOUT, and a content file of bare slots
            message = f"{self.source}: names no layout: give the LAYOUT to draw it with"
            raise PreviewError([Problem("", message)])
        layout = library.get(name)
        if layout is None:
            names = library.names
            hint = did_you_mean(name, names) or f"; known: {', '.join(names)}"
            raise PreviewError([Problem("", f"unknown layout '{name}'{hint}")])
        return library, layout
