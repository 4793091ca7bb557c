"""Layout files (YAML) to validated layouts, or every problem with its file, zone and line."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from display_layouts.checks import check_layout
from display_layouts.layout import Arrangement, Layout
from display_layouts.model import LayoutFile
from display_layouts.problems import (
    LayoutError,
    Loc,
    Problem,
    did_you_mean,
    field_names,
    from_validation,
    render,
    zone_context,
)
from display_layouts.zones import zone_types
from display_layouts.zones.base import Zone

MAX_FILE_BYTES = 256 * 1024
LAYOUT_SUFFIXES = (".yaml", ".yml")
# A variant changes how a zone looks, not what it is.
_FIXED_KEYS = ("name", "type")


class _Loader(yaml.SafeLoader):
    """SafeLoader without aliases: `*name` would let a small file expand into a huge one."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            message = "anchors and aliases (*name) are not allowed"
            raise yaml.composer.ComposerError(None, None, message, event.start_mark)
        return super().compose_node(parent, index)


def load_layout_file(path: Path, *, check_name: bool = True) -> Layout:
    """The layout in `path`; LayoutError naming the file, zone, field and line."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise LayoutError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise LayoutError([f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LayoutError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    return parse_layout(text, str(path), stem=path.stem if check_name else None)


def parse_layout(text: str, source: str, *, stem: str | None = None) -> Layout:
    data, lines = _read_yaml(text, source)
    problems, layout = _build(data, stem, source)
    if layout is not None and not problems:
        problems = check_layout(layout)
    if problems or layout is None:
        raise LayoutError([render(source, problem, lines) for problem in problems])
    return layout


def _read_yaml(text: str, source: str) -> tuple[Any, dict[Loc, int]]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise LayoutError([f"{source}: not valid YAML: {reason}{where}"]) from None
    finally:
        loader.dispose()
    lines: dict[Loc, int] = {}
    if node is not None:
        _note_lines(node, (), lines)
    return data, lines


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


def _build(data: Any, stem: str | None, source: str) -> tuple[list[Problem], Layout | None]:
    if not isinstance(data, dict):
        return [Problem((), "a layout file is a mapping (name:, purpose:, zones: …)")], None
    problems: list[Problem] = []
    try:
        parsed: LayoutFile | None = LayoutFile.model_validate(data)
    except ValidationError as exc:
        parsed = None
        problems += from_validation(exc, known=field_names(LayoutFile))
    if stem is not None and data.get("name") != stem and isinstance(data.get("name"), str):
        problems.append(Problem(("name",), f"must match the file name '{stem}'", (), ("name",)))
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


def _zones(raw_zones: list[Any], problems: list[Problem]) -> tuple[Zone, ...] | None:
    zones: list[Zone] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_zones):
        zone = _zone(raw, ("zones", index), (), problems)
        if zone is None:
            continue
        if zone.name in seen:
            context = (zone_context(zone.name),)
            problems.append(Problem(("zones", index, "name"), "used by another zone", context))
        seen.add(zone.name)
        zones.append(zone)
    return tuple(zones) if len(zones) == len(raw_zones) else None


def _zone(raw: Any, loc: Loc, where: tuple[str, ...], problems: list[Problem]) -> Zone | None:
    """One zone validated against its type's model; its problems added to `problems`."""
    label = f"#{loc[-1] + 1}" if isinstance(loc[-1], int) else str(loc[-1])
    name = raw.get("name") if isinstance(raw, dict) else None
    context = (*where, zone_context(name if isinstance(name, str) else label))
    if not isinstance(raw, dict):
        problems.append(Problem(loc, "a zone is a mapping (name:, type:, box: …)", context))
        return None
    cls = _zone_class(raw.get("type"), loc, context, problems)
    if cls is None:
        return None
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        problems += from_validation(exc, base=loc, context=context, known=field_names(cls))
        return None


def _zone_class(
    kind: Any, loc: Loc, context: tuple[str, ...], problems: list[Problem]
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
    problems.append(Problem((*loc, "type"), message, context, ("type",)))
    return None


def _variants(
    parsed: LayoutFile, raw_zones: list[Any], problems: list[Problem]
) -> Iterator[tuple[Any, Arrangement]]:
    by_name: Mapping[str, dict[str, Any]] = {zone["name"]: zone for zone in raw_zones}
    for index, variant in enumerate(parsed.variants):
        where = (f"variants.{index}",)
        unknown = [name for name in variant.zones if name not in by_name]
        for name in unknown:
            hint = did_you_mean(name, by_name)
            loc: Loc = ("variants", index, "zones", name)
            problems.append(Problem(loc, f"no zone '{name}' in this layout{hint}", where))
        zones = []
        for name, raw in by_name.items():
            change = variant.zones.get(name, {})
            for key in _FIXED_KEYS:
                if key in change:
                    loc = ("variants", index, "zones", name, key)
                    context = (*where, zone_context(name))
                    problems.append(Problem(loc, "a variant may not change it", context, (key,)))
            zone = _zone({**raw, **change}, ("variants", index, "zones", name), where, problems)
            if zone is not None:
                zones.append(zone)
        background = variant.background or parsed.background
        yield variant.when, Arrangement(background, tuple(zones))
