"""The layouts a board knows: the built-in ones (display_layouts/layouts/*.yaml) and the
extra ones from the configured folder (`display.layouts_dir`).

An extra layout may not take a built-in layout's name by accident: replacing one takes
`override: true` in the file, and a replacement of a reserved layout (alerts, idle)
must stay reserved, so that no playlist can fill it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from display_layouts.input_problems import Problem
from display_layouts.layout import Layout
from display_layouts.loader import LAYOUT_SUFFIXES, NodeBudget, load_layout_file
from display_layouts.problems import LayoutError
from display_layouts.spec import LayoutSpec

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).resolve().with_name("layouts")
# What a board reads from its layouts folder before its first frame, at most: a few
# seconds of a Raspberry Pi's time for the worst files, room for 100+ ordinary layouts
# (a few hundred values each).
MAX_FILES = 200
MAX_FOLDER_NODES = 60_000


class LayoutLibrary:
    """Layouts by name."""

    def __init__(self, layouts: Mapping[str, Layout]) -> None:
        self._layouts = dict(layouts)

    @property
    def specs(self) -> dict[str, LayoutSpec]:
        return {name: layout.spec for name, layout in self._layouts.items()}

    @property
    def layouts(self) -> dict[str, Layout]:
        return dict(self._layouts)

    @property
    def names(self) -> list[str]:
        return sorted(self._layouts)

    def get(self, name: str) -> Layout | None:
        return self._layouts.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._layouts

    def with_layout(self, layout: Layout) -> LayoutLibrary:
        """A copy with `layout` added or replacing its namesake (for preview)."""
        return LayoutLibrary({**self._layouts, layout.name: layout})


def layout_files(directory: Path) -> list[Path]:
    """The entries of `directory` named like layout files: regular or not (a FIFO or a
    folder named `x.yaml` is reported by the loader, never opened for reading)."""
    return sorted(p for p in directory.iterdir() if p.suffix in LAYOUT_SUFFIXES)


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A layout file that was left out, with every problem found in it."""

    path: Path
    errors: tuple[Problem, ...]

    @property
    def problems(self) -> list[str]:
        return [str(problem) for problem in self.errors]

    def summary(self, limit: int = 3) -> str:
        """One bounded line for an event: the first problems and how many more."""
        shown = [p.within(self.path) for p in self.errors[:limit]]
        more = len(self.errors) - limit
        tail = f"; and {more} more (signage-agent validate {self.path})" if more > 0 else ""
        return f"layout file {self.path} skipped: {'; '.join(shown)}{tail}"


@dataclass(frozen=True, slots=True)
class LibraryScan:
    """The layouts a board can use, and the files of its folder it had to leave out."""

    library: LayoutLibrary
    skipped: tuple[SkippedFile, ...] = ()

    @property
    def errors(self) -> list[Problem]:
        return [problem for file in self.skipped for problem in file.errors]

    @property
    def problems(self) -> list[str]:
        return [str(problem) for problem in self.errors]


def _load_all(
    paths: Iterable[Path], budget: NodeBudget | None = None, *, trusted: bool = False
) -> tuple[dict[str, Layout], list[SkippedFile]]:
    layouts: dict[str, Layout] = {}
    skipped: list[SkippedFile] = []
    for path in paths:
        try:
            layout = load_layout_file(path, budget=budget, trusted=trusted)
        except LayoutError as exc:
            skipped.append(SkippedFile(path, tuple(exc.errors)))
            continue
        except Exception as exc:  # a loader bug: the file is left out, the board goes on
            log.exception("reading layout file %s failed", path)
            problem = Problem("", f"cannot be read: {type(exc).__name__}: {exc}", str(path))
            skipped.append(SkippedFile(path, (problem,)))
            continue
        if layout.name in layouts:
            also = f"'{layout.name}' is also {layouts[layout.name].source}"
            problem = Problem("name", also, str(path))
            skipped.append(SkippedFile(path, (problem,)))
            continue
        layouts[layout.name] = layout
    return layouts, skipped


@cache
def builtin_library() -> LayoutLibrary:
    """The layouts that ship with the agent (loaded once; a broken one is a bug)."""
    layouts, skipped = _load_all(layout_files(BUILTIN_DIR), trusted=True)
    if skipped:
        raise LayoutError([problem for file in skipped for problem in file.errors])
    return LayoutLibrary(layouts)


def scan_library(extra_dir: Path | None = None) -> LibraryScan:
    """The built-in layouts plus every good file in `extra_dir`; a bad file (or an
    unreadable folder) is left out and reported, never fatal: a board must start with
    what it can use (the built-in layouts always work)."""
    builtin = builtin_library()
    if extra_dir is None:
        return LibraryScan(builtin)
    try:
        paths = layout_files(extra_dir)
    except OSError as exc:
        reason = f"cannot read the layouts folder: {exc.strerror or exc}"
        problem = Problem("", reason, str(extra_dir))
        return LibraryScan(builtin, (SkippedFile(extra_dir, (problem,)),))
    extra, skipped = _load_all(paths[:MAX_FILES], NodeBudget(MAX_FOLDER_NODES))
    if len(paths) > MAX_FILES:
        problem = Problem(
            "",
            f"{len(paths)} layout files: only the first {MAX_FILES} by name "
            f"are read (from {paths[0].name} to {paths[MAX_FILES - 1].name})",
            str(extra_dir),
        )
        skipped.append(SkippedFile(extra_dir, (problem,)))
    for name, layout in list(extra.items()):
        problems = _replacement_problems(layout, builtin.get(name))
        if problems:
            del extra[name]
            skipped.append(SkippedFile(Path(layout.source), tuple(problems)))
    skipped.sort(key=lambda file: file.path)
    return LibraryScan(LayoutLibrary({**builtin.layouts, **extra}), tuple(skipped))


def load_library(extra_dir: Path | None = None) -> LayoutLibrary:
    """The built-in layouts plus those in `extra_dir`; LayoutError lists every problem
    (for tools that must not go on with a part: preview, tests)."""
    scan = scan_library(extra_dir)
    if scan.skipped:
        raise LayoutError(scan.errors)
    return scan.library


def _replacement_problems(layout: Layout, builtin: Layout | None) -> list[Problem]:
    source = layout.source
    if builtin is None:
        if layout.override:
            why = f"there is no built-in layout '{layout.name}' to replace"
            return [Problem("override", why, source)]
        return []
    if not layout.override:
        why = (
            f"'{layout.name}' is a built-in layout: choose another name, or "
            "set `override: true` to replace it on this board"
        )
        return [Problem("name", why, source)]
    if builtin.reserved and not layout.reserved:
        why = f"'{layout.name}' replaces a reserved layout and must be one"
        return [Problem("reserved", why, source)]
    return []
