"""Layout files (YAML) to validated layouts, or every problem with its file, zone and line."""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from display_layouts.checks import check_layout
from display_layouts.input_problems import Problem
from display_layouts.layout import Arrangement, Layout
from display_layouts.model import LayoutFile
from display_layouts.problems import (
    Finding,
    LayoutError,
    Loc,
    did_you_mean,
    from_validation,
    render,
    zone_context,
)
from display_layouts.zones import zone_types
from display_layouts.zones.base import Zone
from signage_base.portable import READ_FLAGS

MAX_FILE_BYTES = 256 * 1024
LAYOUT_SUFFIXES = (".yaml", ".yml")
# A variant changes how a zone looks, not what it is.
_FIXED_KEYS = ("name", "type")


# A layout is a few hundred values (the largest built-in one: 345), six levels deep; these
# bounds leave ample room for a big legitimate file (64 zones, 8 variants) and stop a
# hostile one before it costs memory, stack or start-up time: `[[[[…]]]]` nested a
# hundred thousand deep would exhaust the composer's recursion, and a flat list of
# 100 000 numbers takes seconds to validate on a Raspberry Pi.
MAX_DEPTH = 32
MAX_NODES = 10_000


@dataclass
class NodeBudget:
    """Values left to read for a whole layouts folder: many big files must not delay
    a board's first frame either (see library.scan_library)."""

    left: int


MAX_SCALAR_CHARS = 10_000  # the longest field (a template) takes 2000
MAX_INT_DIGITS = 100


class _Loader(yaml.SafeLoader):
    """SafeLoader without aliases (`*name` would let a small file expand into a huge one:
    the "billion laughs"), with bounded nesting depth, node count and scalar size."""

    def __init__(self, stream: str, budget: NodeBudget | None) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        self._budget = budget

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            self._refuse("anchors and aliases (*name) are not allowed", event)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            self._refuse(f"more than {MAX_NODES} values: not a layout", event)
        if self._budget is not None:
            self._budget.left -= 1
            if self._budget.left < 0:
                message = "not read: the layouts folder holds too many values in all"
                self._refuse(f"{message} (the files before it by name are used)", event)
        if self._depth >= MAX_DEPTH:
            self._refuse(f"nested more than {MAX_DEPTH} levels deep: not a layout", event)
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_SCALAR_CHARS:
            self._refuse(f"a value longer than {MAX_SCALAR_CHARS} characters", event)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        return _construct_int(self, node)

    @staticmethod
    def _refuse(message: str, event: Any) -> None:
        raise yaml.composer.ComposerError(None, None, message, event.start_mark)


def _construct_int(loader: yaml.constructor.SafeConstructor, node: yaml.ScalarNode) -> Any:
    # A 5000-digit number would raise ValueError (Python's int() limit), not a
    # YAMLError; no field of a layout needs more than a few digits.
    if sum(c.isdigit() for c in node.value) > MAX_INT_DIGITS:
        message = f"a number with more than {MAX_INT_DIGITS} digits"
        raise yaml.constructor.ConstructorError(None, None, message, node.start_mark)
    return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)

# The layouts that ship with the agent are ours, not a stranger's: libyaml's parser reads
# them (PyYAML's C binding, in its wheels and Debian's python3-yaml), six times faster
# than the pure-Python composer that `_Loader` needs for its per-node bounds. They are
# read before every board's first frame (≈ 50 ms here, several times that on a Pi).
# Without libyaml they go through `_Loader` like any other file.
_CSafeLoader: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)
_TrustedLoader: type[Any] | None = None
if _CSafeLoader is not None:
    _TrustedLoader = type("_TrustedLoader", (_CSafeLoader,), {})
    _TrustedLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_layout_file(
    path: Path,
    *,
    check_name: bool = True,
    budget: NodeBudget | None = None,
    trusted: bool = False,
) -> Layout:
    """The layout in `path`; LayoutError naming the file, zone, field and line. `trusted`:
    one of the agent's own files (read by libyaml, without the bounds a stranger's get)."""
    try:
        raw = _read_regular_file(path)
    except OSError as exc:
        raise LayoutError([_whole(path, f"cannot read: {exc.strerror or exc}")]) from None
    if raw is None:
        raise LayoutError([_whole(path, "not a regular file (a folder, pipe or device): not read")])
    if len(raw) > MAX_FILE_BYTES:
        raise LayoutError([_whole(path, f"larger than {MAX_FILE_BYTES // 1024} KiB")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise LayoutError([_whole(path, reason)]) from None
    stem = path.stem if check_name else None
    return parse_layout(text, str(path), stem=stem, budget=budget, trusted=trusted)


def _whole(source: Path | str, message: str) -> Problem:
    """A problem of the file as a whole (it could not be read or parsed)."""
    return Problem("", message, str(source))


def _read_regular_file(path: Path) -> bytes | None:
    """At most MAX_FILE_BYTES + 1 bytes of `path`, or None when it is not a regular file.
    Opened without blocking and checked on the open file: a FIFO named `x.yaml` must not
    hang the board, nor a link to /dev/zero fill its memory (POSIX-only flags are 0 on
    Windows, which has no FIFOs among files: a layout file is previewed there too)."""
    fd = os.open(path, READ_FLAGS)
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return file.read(MAX_FILE_BYTES + 1)


def parse_layout(
    text: str,
    source: str,
    *,
    stem: str | None = None,
    budget: NodeBudget | None = None,
    trusted: bool = False,
) -> Layout:
    data, lines = _read_yaml(text, source, budget, trusted=trusted)
    problems = list(_non_finite(data, ()))
    if problems:  # `.nan` passes `x < 0` and every other range check: refuse it by name
        raise LayoutError([render(source, problem, lines) for problem in problems])
    problems, layout = _build(data, stem, source)
    if layout is not None and not problems:
        problems = check_layout(layout)
    if problems or layout is None:
        raise LayoutError([render(source, problem, lines) for problem in problems])
    return layout


def _read_yaml(
    text: str, source: str, budget: NodeBudget | None, *, trusted: bool = False
) -> tuple[Any, dict[Loc, int]]:
    if trusted and _TrustedLoader is not None:
        loader = _TrustedLoader(text)
    else:
        loader = _Loader(text, budget)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise LayoutError([_whole(source, f"not valid YAML: {reason}{where}")]) from None
    except (RecursionError, ValueError, OverflowError) as exc:  # past the bounds above: a bug
        raise LayoutError([_whole(source, f"not a usable YAML file: {exc}")]) from None
    finally:
        loader.dispose()
    lines: dict[Loc, int] = {}
    if node is not None:
        _note_lines(node, (), lines)
    return data, lines


def _non_finite(data: Any, loc: Loc) -> Iterator[Finding]:
    """Every NaN or infinity in the file, wherever it is (nesting is bounded by the loader)."""
    if isinstance(data, float) and not math.isfinite(data):
        yield Finding(loc, f"{data} is not a finite number: give a number", (), loc)
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _non_finite(value, (*loc, str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _non_finite(value, (*loc, index))


def _note_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = (*loc, str(key.value))
            lines[path] = key.start_mark.line + 1  # errors point at the key, not below it
            _note_lines(value, path, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _note_lines(item, (*loc, index), lines)


def _build(data: Any, stem: str | None, source: str) -> tuple[list[Finding], Layout | None]:
    if not isinstance(data, dict):
        return [Finding((), "a layout file is a mapping (name:, purpose:, zones: …)")], None
    problems: list[Finding] = []
    try:
        parsed: LayoutFile | None = LayoutFile.model_validate(data)
    except ValidationError as exc:
        parsed = None
        problems += from_validation(exc, LayoutFile)
    if stem is not None and data.get("name") != stem and isinstance(data.get("name"), str):
        problems.append(Finding(("name",), f"must match the file name '{stem}'", (), ("name",)))
    raw_zones = data.get("zones")
    zones = _zones(raw_zones, problems) if isinstance(raw_zones, list) else None
    if parsed is None or zones is None or problems or not isinstance(raw_zones, list):
        return problems, None
    variants = tuple(_variants(parsed, raw_zones, problems))
    layout = Layout(
        name=parsed.name,
        purpose=parsed.purpose,
        reserved=parsed.reserved,
        override=parsed.override,
        base=Arrangement(parsed.background, zones),
        variants=variants,
        source=source,
    )
    return problems, layout


def _zones(raw_zones: list[Any], problems: list[Finding]) -> tuple[Zone, ...] | None:
    zones: list[Zone] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_zones):
        zone = _zone(raw, ("zones", index), (), problems)
        if zone is None:
            continue
        if zone.name in seen:
            context = (zone_context(zone.name),)
            problems.append(Finding(("zones", index, "name"), "used by another zone", context))
        seen.add(zone.name)
        zones.append(zone)
    return tuple(zones) if len(zones) == len(raw_zones) else None


def _zone(raw: Any, loc: Loc, where: tuple[str, ...], problems: list[Finding]) -> Zone | None:
    """One zone validated against its type's model; its problems added to `problems`."""
    label = f"#{loc[-1] + 1}" if isinstance(loc[-1], int) else str(loc[-1])
    name = raw.get("name") if isinstance(raw, dict) else None
    context = (*where, zone_context(name if isinstance(name, str) else label))
    if not isinstance(raw, dict):
        problems.append(Finding(loc, "a zone is a mapping (name:, type:, box: …)", context))
        return None
    cls = _zone_class(raw.get("type"), loc, context, problems)
    if cls is None:
        return None
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        problems += from_validation(exc, cls, base=loc, context=context)
        return None


def _zone_class(
    kind: Any, loc: Loc, context: tuple[str, ...], problems: list[Finding]
) -> type[Zone] | None:
    types = zone_types()
    if isinstance(kind, str) and kind in types:
        return types[kind]
    known = ", ".join(types)
    if kind is None:
        message = f"missing; zone types: {known}"
    else:
        hint = did_you_mean(str(kind), types) or f"; zone types: {known}"
        message = f"unknown zone type '{kind}'{hint}"
    problems.append(Finding((*loc, "type"), message, context, ("type",)))
    return None


def _variants(
    parsed: LayoutFile, raw_zones: list[Any], problems: list[Finding]
) -> Iterator[tuple[Any, Arrangement]]:
    by_name: Mapping[str, dict[str, Any]] = {zone["name"]: zone for zone in raw_zones}
    for index, variant in enumerate(parsed.variants):
        where = (f"variants.{index}",)
        unknown = [name for name in variant.zones if name not in by_name]
        for name in unknown:
            hint = did_you_mean(name, by_name)
            loc: Loc = ("variants", index, "zones", name)
            problems.append(Finding(loc, f"no zone '{name}' in this layout{hint}", where))
        zones = []
        for name, raw in by_name.items():
            change = variant.zones.get(name, {})
            for key in _FIXED_KEYS:
                if key in change:
                    loc = ("variants", index, "zones", name, key)
                    context = (*where, zone_context(name))
                    problems.append(Finding(loc, "a variant may not change it", context, (key,)))
            zone = _zone({**raw, **change}, ("variants", index, "zones", name), where, problems)
            if zone is not None:
                zones.append(zone)
        background = variant.background or parsed.background
        yield variant.when, Arrangement(background, tuple(zones))
