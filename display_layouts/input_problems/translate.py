"""THE translation of pydantic's errors into sentences for the person who wrote the input.

Given the validated type, each error's path is looked up in it, which gives:
- "did you mean …?" for a misspelt key (the keys allowed where it stands) and for a
  misspelt value of a literal or an enum (`protocol = "alpa"`: did you mean 'alpha'?);
- the path as the writer sees it: a discriminated union's tag, which pydantic puts in the
  path (`serial.alpha.alpha_mode`), is left out (`serial.alpha_mode`), and a tag that
  matches no member is reported at its own key (`serial.protocol`) like any other value.
Nothing here knows a particular model: a new union or literal gets all this for free.
"""

from __future__ import annotations

import enum
import re
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Discriminator, Tag, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from display_layouts.input_problems.problem import ROOT, Problem, closest, did_you_mean, printable

Loc = tuple[str | int, ...]
MAX_SHOWN_INPUT_CHARS = 100
# Each string pattern of an input, in words: a writer is told "a slug: lower-case …",
# never shown the regular expression (see `named_pattern`).
FORMS: dict[str, str] = {}


def named_pattern(pattern: str, words: str) -> str:
    """`pattern`, registered with what it means in words ("String should be WORDS"), for a
    `StringConstraints(pattern=…)` or `Field(pattern=…)`; pydantic still checks it and the
    JSON Schema still shows it, but an error says the words."""
    known = FORMS.setdefault(pattern, words)
    if known != words:
        raise ValueError(f"pattern {pattern!r} is already named {known!r}")
    return pattern


_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def dotted(loc: Iterable[str | int]) -> str:
    """A path as `items.0.fields.title`; keys come from the sender, so they are escaped
    and bounded; the whole input is `$`."""
    return ".".join(printable(str(part)) for part in loc) or ROOT


@dataclass(frozen=True, slots=True)
class _Place:
    """What the type allows at a point of the path: its candidate types (several for a
    union) and the discriminator that tells a union's members apart, if any."""

    types: tuple[Any, ...]
    discriminator: str | None = None


def _unwrap(annotation: Any) -> tuple[Any, str | None]:
    """`annotation` without `Annotated`, with the discriminator its metadata names."""
    discriminator = None
    while get_origin(annotation) is Annotated:
        annotation, *metadata = get_args(annotation)
        for meta in metadata:
            found = meta.discriminator if isinstance(meta, FieldInfo) else meta
            if isinstance(found, str):
                discriminator = found
            elif isinstance(found, Discriminator) and isinstance(found.discriminator, str):
                discriminator = found.discriminator
    return annotation, discriminator


def _place(annotation: Any, discriminator: str | None = None) -> _Place:
    annotation, inner = _unwrap(annotation)
    discriminator = discriminator or inner
    if get_origin(annotation) in (Union, types.UnionType):
        members: list[Any] = []
        for member in get_args(annotation):
            place = _place(member)
            members.extend(place.types)
            discriminator = discriminator or place.discriminator
        return _Place(tuple(m for m in members if m is not type(None)), discriminator)
    return _Place((annotation,), discriminator)


def _fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """A model's fields by the key a writer uses (the alias when there is one)."""
    return {info.alias or name: info for name, info in model.model_fields.items()}


def _models(place: _Place) -> list[type[BaseModel]]:
    return [t for t in place.types if isinstance(t, type) and issubclass(t, BaseModel)]


def _tags(model: type[BaseModel], discriminator: str) -> list[str]:
    info = _fields(model).get(discriminator) or model.model_fields.get(discriminator)
    if info is None:
        return []
    return [str(value) for value in _allowed(_place(info.annotation, None))]


def _member_by_tag(place: _Place, part: str) -> type[BaseModel] | None:
    if place.discriminator is None:
        return None
    for model in _models(place):
        if part in _tags(model, place.discriminator) or part == _tag_name(model):
            return model
    return None


def _tag_name(model: Any) -> str | None:
    # A callable discriminator names its members with `Tag("…")` metadata.
    for meta in getattr(model, "__metadata__", ()):
        if isinstance(meta, Tag):
            return meta.tag
    return None


def _step(place: _Place, part: str | int) -> tuple[_Place, bool]:
    """The place one step further along the path, and whether the step was a union's tag
    (which the writer never typed, so it is left out of the path shown)."""
    if isinstance(part, str):
        member = _member_by_tag(place, part)
        if member is not None:
            return _Place((member,)), True
    found: list[Any] = []
    discriminator = None
    for candidate in place.types:
        origin = get_origin(candidate)
        args = get_args(candidate)
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            info = _fields(candidate).get(str(part))
            if info is not None:
                sub = _place(info.annotation, _field_discriminator(info))
                found.extend(sub.types)
                discriminator = discriminator or sub.discriminator
        elif origin in (list, tuple, set, frozenset, Sequence) and args:
            sub = _place(args[0])
            found.extend(sub.types)
            discriminator = discriminator or sub.discriminator
        elif origin is dict and len(args) == 2:
            sub = _place(args[1])
            found.extend(sub.types)
            discriminator = discriminator or sub.discriminator
    return _Place(tuple(found), discriminator), False


def _field_discriminator(info: FieldInfo) -> str | None:
    found = info.discriminator
    if isinstance(found, Discriminator):
        return found.discriminator if isinstance(found.discriminator, str) else None
    return found


def _allowed(place: _Place) -> list[Any]:
    """The values a literal or an enum at this place allows (none for other types)."""
    values: list[Any] = []
    for candidate in place.types:
        if get_origin(candidate) is Literal:
            values.extend(get_args(candidate))
        elif isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            values.extend(member.value for member in candidate)
    return values


def _walk(root: Any, loc: Loc) -> tuple[Loc, list[_Place]]:
    """`loc` without union tags, and the place at each step (index 0: the root)."""
    place = _place(root) if root is not None else _Place(())
    shown: list[str | int] = []
    places = [place]
    for part in loc:
        place, tag = _step(place, part)
        if not tag:
            shown.append(part)
            places.append(place)
        else:
            places[-1] = place  # the member the tag chose stands where the union stood
    return tuple(shown), places


def _keys(place: _Place) -> list[str]:
    keys: list[str] = []
    for model in _models(place):
        keys.extend(k for k in _fields(model) if k not in keys)
    return keys


def _one_of(values: Sequence[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 1:
        return "".join(quoted)
    return f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _shown_input(value: Any) -> str:
    return f" (got {printable(repr(value), MAX_SHOWN_INPUT_CHARS)})"


@dataclass(frozen=True, slots=True)
class _Sentence:
    loc: Loc
    message: str
    suggested: str | None = None  # the key an unknown key was probably meant to be


def _sentence(detail: ErrorDetails, root: Any, unknown_key: str, show_input: bool) -> _Sentence:
    kind = detail["type"]
    loc, places = _walk(root, tuple(detail["loc"]))
    ctx: dict[str, Any] = dict(detail.get("ctx") or {})
    value = detail.get("input")
    if kind == "extra_forbidden" and loc:
        key = str(loc[-1])
        known = _keys(places[-2]) if len(places) >= 2 else []
        match = closest(key, known)
        hint = did_you_mean(key, known)
        return _Sentence(loc, unknown_key.format(key=printable(key)) + hint, match)
    if kind == "missing":
        return _Sentence(loc, "required key is missing")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        # A tag is a value like any other: reported at its key, as a literal's would be.
        names = _QUOTED.findall(str(ctx.get("discriminator", "")))
        loc = (*loc, names[0]) if len(names) == 1 else loc
        if kind == "union_tag_not_found":
            return _Sentence(loc, "required key is missing")
        tags = _QUOTED.findall(str(ctx.get("expected_tags", "")))
        tag = ctx.get("tag", value)
        message = f"Input should be {_one_of(tags)}"
        if show_input:
            message += _shown_input(tag)
        return _Sentence(loc, message + did_you_mean(str(tag), tags))
    message = detail["msg"].removeprefix("Value error, ")
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in FORMS:
        message = f"String should be {FORMS[ctx['pattern']]}"
    if show_input and not isinstance(value, dict):
        message += _shown_input(value)
    if kind in ("literal_error", "enum") and isinstance(value, str):
        allowed = [str(v) for v in _allowed(places[-1])]
        allowed = allowed or _QUOTED.findall(str(ctx.get("expected", "")))
        message += did_you_mean(value, allowed)
    return _Sentence(loc, message)


def translate(
    exc: ValidationError,
    root: Any = None,
    *,
    unknown_key: str = "unknown key",
    show_input: bool = False,
) -> list[tuple[Loc, str]]:
    """Each of pydantic's errors as (path the writer sees, sentence).

    `root`: the type that was validated (a model, or a union for a `TypeAdapter`), to
    look paths up in; `unknown_key`: how an unknown key is worded ("{key}" is the key);
    `show_input`: end each sentence with the value given (for files the reader wrote:
    a payload's values come from anyone and go back out in events).
    A required key is not reported missing when an unknown key next to it was suggested
    for it: "nam: did you mean 'name'?" says it all."""
    sentences = [_sentence(d, root, unknown_key, show_input) for d in exc.errors(include_url=False)]
    suggested = {(*s.loc[:-1], s.suggested) for s in sentences if s.suggested is not None}
    return [
        (s.loc, s.message)
        for s in sentences
        if not (s.message == "required key is missing" and s.loc in suggested)
    ]


def from_validation(
    exc: ValidationError,
    root: Any = None,
    *,
    source: str = "",
    show_input: bool = False,
    path: Callable[[Loc], str] = dotted,
) -> list[Problem]:
    """`translate`, as problems of `source` with dotted paths."""
    return [
        Problem(path(loc), message, source)
        for loc, message in translate(exc, root, show_input=show_input)
    ]
