"""Every number of a layout is finite and in range: NaN, ±infinity and absurd magnitudes in
any numeric field of the layout model are refused with the file and the field's path, and
never reach the renderer."""

from __future__ import annotations

import dataclasses
import io
import types
import typing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from agent.validate import validate_files
from display_layouts.loader import parse_layout
from display_layouts.model import LayoutFile, When
from display_layouts.problems import LayoutError
from display_layouts.zones import zone_types

Leaf = tuple[int, ...]  # where a number sits inside a field's value: () or (index,)


def numeric_leaves(annotation: Any) -> list[Leaf]:
    """Where a field of this type holds numbers: () for a number, (i,) for a tuple's i-th."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation in (int, float):
        return [()]
    if origin is typing.Annotated:
        return numeric_leaves(args[0])
    if origin in (typing.Union, types.UnionType):
        return sorted({leaf for arg in args for leaf in numeric_leaves(arg)})
    if origin is tuple and Ellipsis not in args:
        return [(i, *rest) for i, arg in enumerate(args) for rest in numeric_leaves(arg)]
    return []


def numeric_fields(model: type[BaseModel]) -> list[tuple[str, Leaf, int]]:
    """(field, leaf, tuple length) for every number the model holds."""
    found = []
    for name, info in model.model_fields.items():
        annotation: Any = info.annotation
        for leaf in numeric_leaves(annotation):
            arity = len(typing.get_args(_tuple_of(annotation))) if leaf else 0
            found.append((name, leaf, arity))
    return found


def _tuple_of(annotation: Any) -> Any:
    """The tuple type inside Annotated/Optional/Union, for its length."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is tuple:
        return annotation
    for arg in args if origin in (typing.Union, types.UnionType, typing.Annotated) else ():
        inner = _tuple_of(arg)
        if inner is not None:
            return inner
    return None


# A valid zone of each type, to change one number in.
VALID_ZONES: dict[str, dict[str, Any]] = {
    "text": {"text": "{body}"},
    "ticker": {"text": "{body}"},
    "clock": {},
    "image": {"image": "{picture}"},
    "video": {"video": "{clip}"},
    "qr": {"data": "{body}"},
    "rect": {"color": "panel"},
}
KEEP = object()  # leave the valid number where it is (the control test)
VALID_NUMBER = {"size": 50.0, "padding": 1.0, "speed": 30.0, "gap": 10.0, "indent": 1.0}
HOSTILE = [
    float("nan"),
    float("inf"),
    float("-inf"),
    1e308,
    -1e308,
    10**30,
    -(10**30),
    2**63,
    -(2**63) - 1,
]

TARGETS: list[tuple[str, str, Leaf, int]] = []  # (where, field, leaf, arity)
for kind, cls in zone_types().items():
    TARGETS += [(f"zone:{kind}", name, leaf, arity) for name, leaf, arity in numeric_fields(cls)]
TARGETS += [("layout", name, leaf, arity) for name, leaf, arity in numeric_fields(LayoutFile)]
TARGETS += [("when", name, leaf, arity) for name, leaf, arity in numeric_fields(When)]


def test_every_numeric_field_of_the_model_is_a_target() -> None:
    fields = {(where, field) for where, field, _, _ in TARGETS}
    assert {("zone:text", "box"), ("zone:text", "max_lines"), ("zone:ticker", "gap")} <= fields
    assert {("zone:rect", "color"), ("layout", "background"), ("when", "min_width")} <= fields
    assert len(zone_types()) == len(VALID_ZONES)  # a new zone type needs a valid example here


def document(where: str, field: str, leaf: Leaf, arity: int, value: object) -> tuple[str, str]:
    """A layout with `value` at one number of `field`; and the path a problem must name."""
    zone: dict[str, Any] = {"name": "z", "box": [0.0, 0.0, 100.0, 100.0]}
    layout: dict[str, Any] = {"name": "t", "purpose": "p", "reserved": True}  # slots or not
    kind = where.removeprefix("zone:") if where.startswith("zone:") else "text"
    zone.update({"type": kind, **VALID_ZONES[kind]})
    if where == "when":
        target: dict[str, Any] = {}
        layout["variants"] = [{"when": target}]
    else:
        target = zone if where.startswith("zone:") else layout
    if leaf:
        current = target.get(field)
        base = list(current) if isinstance(current, list) else [VALID_NUMBER.get(field, 1)] * arity
        if field in ("color", "background"):
            base = [0, 0, 0]
        if value is not KEEP:
            base[leaf[0]] = value
        target[field] = base
    else:
        target[field] = VALID_NUMBER.get(field, 2) if value is KEEP else value
    layout["zones"] = [zone]
    path = ".".join(map(str, (field, *leaf)))
    return yaml.safe_dump(layout, allow_unicode=True), path


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(TARGETS), value=st.sampled_from(HOSTILE))
def test_a_hostile_number_in_any_numeric_field_is_refused_with_its_path(
    target: tuple[str, str, Leaf, int], value: object
) -> None:
    where, field, leaf, arity = target
    text, path = document(where, field, leaf, arity, value)
    with pytest.raises(LayoutError) as caught:
        parse_layout(text, "hostile.yaml")
    problems = caught.value.problems
    assert all(p.startswith("hostile.yaml: ") for p in problems)
    named = [p for p in problems if path in p or field in p]
    assert named, (text, problems)


@pytest.mark.parametrize(("where", "field", "leaf", "arity"), TARGETS)
def test_each_numeric_field_refuses_nan(where: str, field: str, leaf: Leaf, arity: int) -> None:
    """The exhaustive companion of the property test: NaN in every field."""
    text, path = document(where, field, leaf, arity, float("nan"))
    with pytest.raises(LayoutError, match=r"not a finite number") as caught:
        parse_layout(text, "hostile.yaml")
    assert any(path in problem for problem in caught.value.problems)


def test_the_same_documents_are_valid_with_ordinary_numbers() -> None:
    """The documents above fail only because of the hostile number (else the test is void)."""
    for where, field, leaf, arity in TARGETS:
        text, _ = document(where, field, leaf, arity, KEEP)
        try:
            parse_layout(text, "ordinary.yaml")
        except LayoutError as exc:
            raise AssertionError((where, field, leaf, exc.problems)) from None


def test_validate_names_the_file_and_the_path_of_a_nan(tmp_path: Path) -> None:
    path = tmp_path / "nan_box.yaml"
    path.write_text(
        "name: nan_box\npurpose: x\nzones:\n"
        "  - {name: t, type: text, text: '{text}', box: [.nan, 0, 100, 100]}\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    assert validate_files([path], out) == 1
    assert (
        out.getvalue()
        == f"{path}: zones.0.box.0: nan is not a finite number: give a number (line 4)\n"
    )


numbers = st.one_of(
    st.floats(0, 30),  # often in range: the accepted layouts are what is drawn below
    st.integers(1, 20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-200, 200),
    st.integers(-(10**40), 10**40),
    st.sampled_from(HOSTILE),
)
boxes = st.one_of(
    st.tuples(st.floats(0, 50), st.floats(0, 50), st.floats(1e-9, 50), st.floats(1e-9, 50)),
    st.lists(numbers, min_size=4, max_size=4),
).map(list)
zone_numbers = st.fixed_dictionaries(
    {"box": boxes},
    optional={
        "padding": numbers | st.lists(numbers, min_size=2, max_size=2),
        "size": st.lists(numbers | st.floats(1, 100), min_size=2, max_size=2),
        "speed": numbers,
        "gap": numbers,
        "indent": numbers,
        "max_lines": numbers,
    },
)
ACCEPTED: list[str] = []  # kinds of the layouts that passed the loader (see the test after)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["text", "ticker", "clock", "qr", "image"]),
    numbers=zone_numbers,
    size=st.sampled_from([(64, 32), (320, 180), (1080, 1920)]),
)
def test_a_layout_that_passes_the_loader_draws_without_a_fault(
    kind: str, numbers: dict[str, Any], size: tuple[int, int]
) -> None:
    """What the loader lets through, the renderer draws: every number it accepts is one
    the renderer can use, at every size and at every frame."""
    import pygame

    from display_layouts.library import builtin_library
    from display_layouts.render import Renderer, Scene

    own = {"text": {"text": "{a}"}, "ticker": {"text": "{a}"}, "qr": {"data": "{a}"}}
    allowed = {
        "text": {"padding", "size", "speed", "max_lines"},
        "ticker": {"padding", "size", "speed", "gap", "indent"},
        "clock": {"padding", "size"},
        "qr": {"padding"},
        "image": {"padding"},
    }[kind]
    zone = {"name": "z", "type": kind, **own.get(kind, {"image": "{a}"} if kind == "image" else {})}
    zone.update({k: v for k, v in numbers.items() if k == "box" or k in allowed})
    text = yaml.safe_dump({"name": "t", "purpose": "p", "reserved": True, "zones": [zone]})
    try:
        layout = parse_layout(text, "fuzz.yaml")
    except LayoutError:
        return  # refused: it never reaches the renderer
    ACCEPTED.append(kind)
    renderer = Renderer(size, library=builtin_library().with_layout(layout))
    surface = pygame.Surface(size)
    start = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    scene = Scene("t", {"a": "Bão số 3 " * 12}, "Bảng tin", start, started=start)
    renderer.draw(surface, scene)
    for step in range(3):
        later = dataclasses.replace(scene, now=start + timedelta(seconds=step))
        renderer.refresh_at(later)
        renderer.animate(surface, later)
    assert renderer.zone_errors == 0, (zone, renderer.last_error)


def test_the_drawing_property_test_drew_something() -> None:
    """Runs after it (file order): it must not pass by refusing everything."""
    if not ACCEPTED:
        pytest.skip("run with the property test above")
    assert len(ACCEPTED) >= 20
    assert len(set(ACCEPTED)) >= 4
