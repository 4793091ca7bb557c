"""The layouts a board knows: the built-in ones (display_layouts/layouts/*.yaml) and the
extra ones from the configured folder (`display.layouts_dir`).

An extra layout may not take a built-in layout's name by accident: replacing one takes
`override: true` in the file, and a replacement of a reserved layout (alerts, idle)
must stay reserved, so that no playlist can fill it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from display_layouts.layout import Layout
from display_layouts.loader import LAYOUT_SUFFIXES, load_layout_file
from display_layouts.problems import LayoutError
from display_layouts.spec import LayoutSpec

BUILTIN_DIR = Path(__file__).resolve().with_name("layouts")


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
    return sorted(p for p in directory.iterdir() if p.suffix in LAYOUT_SUFFIXES and p.is_file())


def _load_all(paths: Iterable[Path]) -> tuple[dict[str, Layout], list[str]]:
    layouts: dict[str, Layout] = {}
    problems: list[str] = []
    for path in paths:
        try:
            layout = load_layout_file(path)
        except LayoutError as exc:
            problems += exc.problems
            continue
        if layout.name in layouts:
            problems.append(f"{path}: name: '{layout.name}' is also {layouts[layout.name].source}")
            continue
        layouts[layout.name] = layout
    return layouts, problems


@cache
def builtin_library() -> LayoutLibrary:
    """The layouts that ship with the agent (loaded once; a broken one is a bug)."""
    layouts, problems = _load_all(layout_files(BUILTIN_DIR))
    if problems:
        raise LayoutError(problems)
    return LayoutLibrary(layouts)


def load_library(extra_dir: Path | None = None) -> LayoutLibrary:
    """The built-in layouts plus those in `extra_dir`; LayoutError lists every problem."""
    builtin = builtin_library()
    if extra_dir is None:
        return builtin
    try:
        paths = layout_files(extra_dir)
    except OSError as exc:
        raise LayoutError(
            [f"{extra_dir}: cannot read the layouts folder: {exc.strerror}"]
        ) from None
    extra, problems = _load_all(paths)
    for layout in extra.values():
        problems += _replacement_problems(layout, builtin.get(layout.name))
    if problems:
        raise LayoutError(problems)
    return LayoutLibrary({**builtin.layouts, **extra})


def _replacement_problems(layout: Layout, builtin: Layout | None) -> list[str]:
    where = f"{layout.source}: "
    if builtin is None:
        if layout.override:
            return [f"{where}override: there is no built-in layout '{layout.name}' to replace"]
        return []
    if not layout.override:
        return [
            f"{where}name: '{layout.name}' is a built-in layout: choose another name, or "
            "set `override: true` to replace it on this board"
        ]
    if builtin.reserved and not layout.reserved:
        return [f"{where}reserved: '{layout.name}' replaces a reserved layout and must be one"]
    return []
