"""`signage-agent preview`: a content manager draws a layout exactly as the board will.

    signage-agent preview LAYOUT [--content FILE] [--size WxH] [--out FILE.png]
                                 [--watch] [--led]

LAYOUT is a layout's name or a layout file (.yaml). The renderer is the board's own.
--watch redraws whenever the layout or content file is saved; when the saved file is
invalid, the last good frame stays, with the problem shown across its top. --led draws
the frame as LED dots at the panel's resolution, as a technician sees the board.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import threading
from collections.abc import Callable
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
    import pygame

    from display_layouts.layout import Layout
    from display_layouts.render import Renderer, Scene

EX_USAGE = 2
BOARD_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
BOARD_NAME = "Bảng tin phường"
# Editors save in steps (truncate, write, rename): wait this long after the last event
# before reading, well within the 300 ms a saved file must take to show.
SETTLE_S = 0.05
WINDOW_TICK_MS = 100  # a window with nothing moving still answers its window system


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


class FileWatcher:
    """Sets `changed` whenever one of `paths` is written, created or moved into place.

    Watches the folders, not the files: editors save by writing a new file and renaming
    it over the old one, which a watch on the old file would miss.
    """

    def __init__(self, paths: list[Path], changed: threading.Event) -> None:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        targets = {path.resolve() for path in paths}

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type not in _WRITES:
                    return  # our own reading opens and closes the file too
                touched = (event.src_path, getattr(event, "dest_path", ""))
                if any(_resolved(raw) in targets for raw in touched if raw):
                    changed.set()

        self._observer: Any = Observer()
        for folder in {path.parent for path in targets}:
            self._observer.schedule(Handler(), str(folder), recursive=False)
        self._observer.daemon = True

    def __enter__(self) -> FileWatcher:
        self._observer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)


_WRITES = frozenset({"modified", "created", "moved", "closed"})


def _resolved(raw: str | bytes) -> Path:
    return Path(raw.decode() if isinstance(raw, bytes) else raw).resolve()


# --- drawing ------------------------------------------------------------------------------


def frame(renderer: Renderer, scene: Scene, preview: Preview) -> pygame.Surface:
    """The picture the preview shows: the board's frame, or its LED dot view."""
    import pygame

    surface = pygame.Surface(preview.size)
    renderer.draw(surface, scene)
    return _view(surface, preview)


def _view(surface: pygame.Surface, preview: Preview) -> pygame.Surface:
    from display_layouts.led import dot_view

    return dot_view(surface) if preview.led else surface


def with_problems(picture: pygame.Surface, problems: list[str]) -> pygame.Surface:
    """`picture` with a red band across its top listing `problems` (the last good frame
    stays visible below, so the author sees both)."""
    import pygame

    from display_layouts.fonts import Face
    from display_layouts.text import TextStyle, draw_block, fit

    shown = picture.copy()
    width, height = shown.get_size()
    band = pygame.Rect(0, 0, width, max(height // 3, min(height, 48)))
    shown.fill((170, 18, 26), band)
    zone = band.inflate(-max(4, width // 50), -max(4, band.height // 10))
    text = "\n".join(problems[:8])
    block = fit(text, Face.REGULAR, zone.size, (10, max(10, band.height // 6)))
    draw_block(shown, zone, block, TextStyle(Face.REGULAR, (255, 255, 255)))
    return shown


def _write_png(path: Path, picture: pygame.Surface) -> None:
    from agent.output import png_bytes
    from agent.storage import atomic_write

    atomic_write(path, png_bytes(picture))


# --- the command ----------------------------------------------------------------------


def preview(args: argparse.Namespace) -> int:
    try:
        session = Preview(args.layout, args.content, parse_size(args.size), led=args.led)
    except ValueError as exc:
        print(f"preview: {exc}", file=sys.stderr)
        return EX_USAGE
    if args.watch:
        stop = threading.Event()
        try:
            return watch(session, args.out, stop)
        except KeyboardInterrupt:
            return 0
        finally:
            stop.set()
    try:
        renderer, scene = session.load()
    except PreviewError as exc:
        for problem in exc.problems:
            print(f"preview: {problem}", file=sys.stderr)
        return 1
    if args.out is not None:
        picture = frame(renderer, scene, session)
        _write_png(args.out, picture)
        print(f"wrote {args.out} ({_size_note(session, picture.get_size())})")
        return 0
    return Window(session).run(lambda: (renderer, scene), threading.Event())


class Window:
    """The preview on screen, animated as on the board (tickers run, clocks tick)."""

    def __init__(self, preview: Preview) -> None:
        from agent.output import ScreenOutput

        self.preview = preview
        self._panel: pygame.Surface | None = None
        view_size = _view_size(preview)
        self.screen = ScreenOutput(view_size, fullscreen=False)

    def show(self, renderer: Renderer, scene: Scene, problems: list[str]) -> None:
        """Draw `scene` (whole) and present it, with `problems` across the top if any."""
        import pygame

        self._panel = pygame.Surface(self.preview.size)
        renderer.draw(self._panel, scene)
        self._present(problems)

    def step(self, renderer: Renderer, scene: Scene, problems: list[str]) -> None:
        """Advance the animated zones to now."""
        if self._panel is not None and renderer.animate(self._panel, scene):
            self._present(problems)

    def _present(self, problems: list[str]) -> None:
        if self._panel is None:
            return
        picture = _view(self._panel, self.preview)
        if problems:
            picture = with_problems(picture, problems)
        self.screen.canvas.blit(picture, (0, 0))
        self.screen.present()

    def run(self, load: Callable[[], tuple[Renderer, Scene]], reload: threading.Event) -> int:
        """Show until the window is closed; reload when `reload` is set."""
        import pygame

        renderer, scene = load()
        problems: list[str] = []
        self.show(renderer, scene, problems)
        while self.screen.pump():
            if reload.is_set():
                reload.clear()
                renderer, scene, problems = _reloaded(load, renderer, scene)
                self.show(renderer, scene, problems)
            live = dataclasses.replace(scene, now=datetime.now(BOARD_ZONE))
            self.step(renderer, live, problems)
            pygame.time.wait(_wait_ms(renderer, live))
        self.screen.close()
        return 0


def _size_note(preview: Preview, written: tuple[int, int]) -> str:
    """The image's own size, and the panel's when LED dots make the image larger."""
    width, height = written
    if (width, height) == preview.size:
        return f"{width}x{height}"
    panel = f"{preview.size[0]}x{preview.size[1]}"
    pitch = width // preview.size[0]
    return f"{width}x{height} pixels: a {panel} LED panel drawn as dots, {pitch} pixels per LED"


def _view_size(preview: Preview) -> tuple[int, int]:
    from display_layouts.led import pitch_for

    if not preview.led:
        return preview.size
    pitch = pitch_for(preview.size)
    return preview.size[0] * pitch, preview.size[1] * pitch


def _wait_ms(renderer: Renderer, scene: Scene) -> int:
    refresh = renderer.refresh_at(scene)
    if refresh is None:
        return WINDOW_TICK_MS
    milliseconds = (refresh - scene.now).total_seconds() * 1000
    return max(1, min(WINDOW_TICK_MS, round(milliseconds)))


def _reloaded(
    load: Callable[[], tuple[Renderer, Scene]], renderer: Renderer, scene: Scene
) -> tuple[Renderer, Scene, list[str]]:
    """The freshly loaded files, or the last good ones with the problems to show."""
    try:
        fresh_renderer, fresh_scene = load()
    except PreviewError as exc:
        return renderer, scene, exc.problems
    return fresh_renderer, fresh_scene, []


def watch(
    session: Preview,
    out: Path | None,
    stop: threading.Event,
    rendered: Callable[[pygame.Surface, list[str]], None] | None = None,
) -> int:
    """Redraw whenever a watched file is saved, until `stop` is set (or the window is
    closed). `rendered` is told of each picture written (for tests)."""
    changed = threading.Event()
    with FileWatcher(session.watched(), changed):
        if out is None:
            return Window(session).run(_loader_or_first_error(session), changed)
        return _watch_to_file(session, out, stop, changed, rendered)


def _loader_or_first_error(session: Preview) -> Callable[[], tuple[Renderer, Scene]]:
    first = True

    def load() -> tuple[Renderer, Scene]:
        nonlocal first
        if not first:
            return session.load()
        first = False
        try:
            return session.load()
        except PreviewError as exc:  # nothing good to keep yet: an empty board says so
            for problem in exc.problems:
                print(f"preview: {problem}", file=sys.stderr)
            return _idle(session)

    return load


def _idle(session: Preview) -> tuple[Renderer, Scene]:
    from display_layouts.render import Renderer, Scene

    now = datetime.now(BOARD_ZONE)
    return Renderer(session.size), Scene("idle", {}, BOARD_NAME, now, started=now)


def _watch_to_file(
    session: Preview,
    out: Path,
    stop: threading.Event,
    changed: threading.Event,
    rendered: Callable[[pygame.Surface, list[str]], None] | None,
) -> int:
    import pygame

    from display_layouts.theme import BACKGROUND

    good = pygame.Surface(_view_size(session))  # until a first good frame exists
    good.fill(BACKGROUND)
    while not stop.is_set():
        try:
            renderer, scene = session.load()
            good, problems = frame(renderer, scene, session), []
        except PreviewError as exc:
            problems = exc.problems
            for problem in problems:
                print(f"preview: {problem}", file=sys.stderr)
        picture = with_problems(good, problems) if problems else good
        _write_png(out, picture)
        if rendered is not None:
            rendered(picture, problems)
        while not stop.is_set() and not changed.wait(0.1):
            pass
        stop.wait(SETTLE_S)
        changed.clear()
    return 0
