"""`signage-agent preview`: a content manager draws a layout exactly as the board will.

    signage-agent preview [LAYOUT] [--content FILE] [--size WxH] [--out FILE.png]
                                   [--watch] [--led] [--at SECONDS]

LAYOUT is a layout's name or a layout file (.yaml); left out, the one the content's
item names. The content is a playlist, one item, or a JSON object of slot values; an
image slot may hold a picture file's path (embedded) or a URL (fetched); a video slot a
clip file's path or a URL (fetched), drawn at its first frame (or at --at). The renderer
is the board's own. --watch redraws whenever the layout or content file is saved; when the
saved file is invalid, the last good frame stays, with the problem shown across its top.
--led draws the frame as LED dots at the panel's resolution, as a technician sees the
board. --at draws the still that many seconds after the item came on screen (where a
ticker has scrolled to, which frame a clip shows). A window larger than the screen is
shown scaled down.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agent.preview.draft import (
    BOARD_NAME,
    Preview,
    PreviewError,
    board_zone,
    check_at,
    parse_size,
)
from agent.preview.picture import frame, render_still, view_size, with_problems
from agent.preview.watcher import FileWatcher
from agent.preview.window import Window

if TYPE_CHECKING:
    import pygame

    from display_layouts.render import Renderer, Scene

EX_USAGE = 2
# Editors save in steps (truncate, write, rename): wait this long after the last event
# before reading, well within the 300 ms a saved file must take to show.
SETTLE_S = 0.05


def _write_png(path: Path, picture: pygame.Surface) -> None:
    from agent.output import png_bytes
    from agent.storage import atomic_write

    atomic_write(path, png_bytes(picture))


# --- the command ----------------------------------------------------------------------


def preview(args: argparse.Namespace) -> int:
    at = getattr(args, "at", None)
    try:
        session = Preview(args.layout, args.content, parse_size(args.size), led=args.led)
        check_at(at)
    except ValueError as exc:
        print(f"preview: {exc}", file=sys.stderr)
        return EX_USAGE
    if args.watch:
        stop = threading.Event()
        try:
            return watch(session, args.out, stop, at=at)
        except KeyboardInterrupt:
            return 0
        finally:
            stop.set()
    try:
        # A still without --at is the item's first moment: a clip's first frame, not
        # the one due after the seconds the preview took to start.
        still_at = 0.0 if at is None and args.out is not None else at
        renderer, scene = session.load(still_at)
        picture = frame(renderer, scene, session) if args.out is not None else None
    except PreviewError as exc:
        _say(exc.problems)
        return 1
    finally:
        _say_notes(session)
    if args.out is not None:
        assert picture is not None
        _write_png(args.out, picture)
        print(f"wrote {args.out} ({_size_note(session, picture.get_size())})")
        return 0
    return Window(session, at).run(lambda: (renderer, scene), threading.Event())


def _say(problems: list[str]) -> None:
    for problem in problems:
        print(f"preview: {problem}", file=sys.stderr)


def _say_notes(session: Preview) -> None:
    """What a board would need instead of what was drawn (a picture's path or digest)."""
    for note in session.pictures.take_notes() + session.clips.take_notes():
        print(f"preview: note: {note}", file=sys.stderr)


def _size_note(preview: Preview, written: tuple[int, int]) -> str:
    """The image's own size, and the panel's when LED dots make the image larger."""
    width, height = written
    if (width, height) == preview.size:
        return f"{width}x{height}"
    panel = f"{preview.size[0]}x{preview.size[1]}"
    pitch = width // preview.size[0]
    return f"{width}x{height} pixels: a {panel} LED panel drawn as dots, {pitch} pixels per LED"


def watch(
    session: Preview,
    out: Path | None,
    stop: threading.Event,
    rendered: Callable[[pygame.Surface, list[str]], None] | None = None,
    *,
    at: float | None = None,
) -> int:
    """Redraw whenever a watched file is saved, until `stop` is set (or the window is
    closed); the still `at` seconds after the start when given. `rendered` is told of
    each picture written (for tests)."""
    changed = threading.Event()
    with FileWatcher(session.watched(), changed):
        if out is None:
            return Window(session, at).run(_loader_or_first_error(session, at), changed)
        return _watch_to_file(session, out, stop, changed, rendered, at=at)


def _loader_or_first_error(
    session: Preview, at: float | None
) -> Callable[[], tuple[Renderer, Scene]]:
    first = True

    def load() -> tuple[Renderer, Scene]:
        nonlocal first
        try:
            return session.load(at)
        except PreviewError as exc:
            if not first:
                raise
            _say(exc.problems)  # nothing good to keep yet: an empty board says so
            return _idle(session)
        finally:
            first = False
            _say_notes(session)

    return load


def _idle(session: Preview) -> tuple[Renderer, Scene]:
    from display_layouts.render import Renderer, Scene

    now = datetime.now(board_zone())
    return Renderer(session.size), Scene("idle", {}, BOARD_NAME, now, started=now)


def _watch_to_file(
    session: Preview,
    out: Path,
    stop: threading.Event,
    changed: threading.Event,
    rendered: Callable[[pygame.Surface, list[str]], None] | None,
    *,
    at: float | None,
) -> int:
    import pygame

    from display_layouts.theme import BACKGROUND

    good = pygame.Surface(view_size(session))  # until a first good frame exists
    good.fill(BACKGROUND)
    while not stop.is_set():
        try:
            good, problems = render_still(session, at), []
        except PreviewError as exc:
            problems = exc.problems
            _say(problems)
        _say_notes(session)
        picture = with_problems(good, problems) if problems else good
        _write_png(out, picture)
        if rendered is not None:
            rendered(picture, problems)
        while not stop.is_set() and not changed.wait(0.1):
            pass
        stop.wait(SETTLE_S)
        changed.clear()
    return 0
