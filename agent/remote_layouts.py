"""Layouts received over MQTT (CONTRACT §8): `{root}/layout/{name}`, retained, the YAML
text of a layout file (or a JWS of it, which the trust gate has opened already).

A received layout is checked exactly as a file of `[display] layouts_dir` is (the same
loader: its bounds, no aliases, every problem with its line), kept in the state dir
under `layouts/{name}.yaml` and read from there at start, so a board that boots
without its broker draws what it was sent. The layouts a board uses are then the
built-in ones, its folder's, and these; a received layout may not take a name either
of the first two has (a built-in layout, reserved or not, is never replaced from afar;
the technician's file wins over a message). An empty payload removes it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Final

from agent.storage import (
    StateFileProblem,
    StorageHealth,
    atomic_delete,
    atomic_write,
    ensure_dir,
    read_state_file,
    set_aside,
)
from agent.validation import InvalidInput, error
from display_layouts.input_problems import Problem, printable
from display_layouts.layout import Layout
from display_layouts.library import MAX_FILES, LayoutLibrary, builtin_library
from display_layouts.loader import MAX_FILE_BYTES, parse_layout
from display_layouts.model import LAYOUT_NAME_PATTERN, LAYOUT_NAME_WORDS
from display_layouts.problems import LayoutError

log = logging.getLogger(__name__)

# As many as a layouts folder may hold: each is at most MAX_FILE_BYTES, so the state dir
# holds at most 50 MiB of them, and reading them all at start stays within seconds.
MAX_REMOTE_LAYOUTS: Final = MAX_FILES
_NAME: Final = re.compile(LAYOUT_NAME_PATTERN)
SUFFIX: Final = ".yaml"


def _for_event(problems: list[Problem]) -> list[Problem]:
    """A loader's problems as a `content.rejected` carries them: the event names the topic
    (not a file) and has no line field, so the line goes into the message."""
    shown = []
    for problem in problems:
        line = f" (line {problem.line})" if problem.line is not None else ""
        shown.append(error(problem.path, f"{problem.message}{line}"))
    return shown


class RemoteLayouts:
    """The layouts received over MQTT, by name, and where they are kept."""

    def __init__(self, state_dir: Path, health: StorageHealth) -> None:
        self.directory = state_dir / "layouts"
        self.health = health
        self.local = builtin_library()  # the built-in layouts and the folder's: set by the core
        self._layouts: dict[str, Layout] = {}
        self._texts: dict[str, bytes] = {}  # as received: the same bytes again change nothing

    @property
    def names(self) -> list[str]:
        return sorted(self._layouts)

    def library(self) -> LayoutLibrary:
        """The layouts in use: the local ones, and each received one of another name (a
        folder file added later under a received layout's name takes its place)."""
        received = {n: layout for n, layout in self._layouts.items() if n not in self.local}
        return LayoutLibrary({**received, **self.local.layouts})

    # --- at start -------------------------------------------------------------------------

    def load(self) -> None:
        """The layouts kept on disk; a damaged file is set aside and reported, never fatal."""
        if not ensure_dir(self.directory, self.health):
            return
        try:
            paths = sorted(p for p in self.directory.iterdir() if p.suffix == SUFFIX)
        except OSError as exc:
            self.health.problem(f"dir:{self.directory}", f"cannot read {self.directory}: {exc}")
            return
        for path in paths[:MAX_REMOTE_LAYOUTS]:
            instead = "the layout is missing until it is sent again"
            try:
                raw = read_state_file(path, MAX_FILE_BYTES)
                if raw is None:
                    continue
                layout = self._check(path.stem, raw, str(path))
            except StateFileProblem as exc:
                set_aside(path, exc.reason, instead, self.health)
                continue
            except InvalidInput as exc:
                reason = f"is not a usable layout ({exc.errors[0].message})"
                set_aside(path, reason, instead, self.health)
                continue
            self._layouts[layout.name] = layout
            self._texts[layout.name] = raw
        if self._layouts:
            log.info("layouts received earlier: %s", ", ".join(self.names))

    # --- a message ------------------------------------------------------------------------

    def receive(self, name: str, topic: str, payload: bytes) -> bool:
        """Apply a layout topic's payload; whether the layouts in use changed. A bad one
        raises `InvalidInput` (every problem, with its line) and changes nothing: the
        layout held under that name, if any, stays."""
        if not payload:
            return self._remove(name)
        if name not in self._layouts and len(self._layouts) >= MAX_REMOTE_LAYOUTS:
            message = f"this board holds {MAX_REMOTE_LAYOUTS} received layouts already"
            raise InvalidInput([error("$", f"{message}: remove one first (an empty payload)")])
        layout = self._check(name, payload, topic)
        if self._texts.get(name) == payload:
            return False  # the retained copy again, after a reconnect
        self._layouts[name] = layout
        self._texts[name] = payload
        self._keep(name, payload)
        log.info("layout %s received on %s", name, topic)
        return True

    def _check(self, name: str, payload: bytes, source: str) -> Layout:
        """The layout `payload` holds, checked as a layouts_dir file named `name`.yaml."""
        if not _NAME.fullmatch(name):
            shown = printable(name)
            why = f"'{shown}' is not a layout name: the topic's last level is {LAYOUT_NAME_WORDS}"
            raise InvalidInput([error("$", f"{why} (48 at most)")])
        if name in builtin_library():
            why = f"'{name}' is a built-in layout: one sent over MQTT cannot replace it"
            raise InvalidInput([error("$", f"{why}; choose another name")])
        local = self.local.get(name)
        if local is not None:
            why = f"'{name}' is the board's own layout file {local.source}, which is used"
            raise InvalidInput([error("$", f"{why}; choose another name")])
        if len(payload) > MAX_FILE_BYTES:
            message = f"{len(payload)} bytes: a layout is at most {MAX_FILE_BYTES // 1024} KiB"
            raise InvalidInput([error("$", message)])
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput([error("$", f"not UTF-8 text (at byte {exc.start})")]) from None
        try:
            layout = parse_layout(text, source)
        except LayoutError as exc:
            raise InvalidInput(_for_event(list(exc.errors))) from None
        problems = []
        if layout.name != name:
            problems.append(
                error("name", f"'{layout.name}' must be the topic's last level '{name}'")
            )
        if layout.override:
            problems.append(error("override", "a layout sent over MQTT cannot replace one"))
        if problems:
            raise InvalidInput(problems)
        return layout

    def _remove(self, name: str) -> bool:
        if self._layouts.pop(name, None) is None:
            return False
        del self._texts[name]
        self._keep(name, None)
        log.info("layout %s removed", name)
        return True

    def _keep(self, name: str, payload: bytes | None) -> None:
        """On disk (the name is a checked slug: the path stays in its folder); a failing
        SD card must not stop the layout being used until the next restart."""
        path = self.directory / f"{name}{SUFFIX}"
        key = f"write:layouts/{name}"
        try:
            if payload is None:
                atomic_delete(path)
            else:
                atomic_write(path, payload)
        except OSError as exc:
            self.health.problem(key, f"cannot save layout {name} to {self.directory}: {exc}")
        else:
            self.health.resolved(key)
