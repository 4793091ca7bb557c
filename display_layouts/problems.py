"""Problems found in a layout file, worded for the person who wrote it.

Every problem is collected (not just the first), each as
"FILE: zone 'NAME': FIELD.PATH: message (line N)", with "did you mean …?" for a
misspelt key, zone type or name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

Loc = tuple[str | int, ...]


class LayoutError(Exception):
    """One or more layout files are invalid; `problems` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1)
    # "qrcode" for "qr", "colour" for "color": a shared start is a strong hint too.
    close = close or [c for c in options if len(c) > 1 and word.startswith(c[:2])][:1]
    return f"; did you mean '{close[0]}'?" if close else ""


@dataclass(frozen=True, slots=True)
class Problem:
    loc: Loc  # where in the file's data, e.g. ("zones", 2, "size", 1): finds the line
    message: str
    context: tuple[str, ...] = ()  # what it concerns, e.g. ("zone 'title'",)
    field: Loc = ()  # the path shown after the context (e.g. ("size", 1))


def zone_context(name: str) -> str:
    return f"zone '{name}'"


def from_validation(
    exc: ValidationError,
    *,
    base: Loc = (),
    context: tuple[str, ...] = (),
    known: Sequence[str] = (),
) -> list[Problem]:
    """pydantic's errors as problems; an unknown key gets the closest known one (and a
    required key it stands for is not reported missing as well)."""
    errors = exc.errors(include_url=False)
    suggested: set[Loc] = set()
    problems = []
    for error in errors:
        loc = tuple(error["loc"])
        message = error["msg"]
        if error["type"] == "extra_forbidden" and loc:
            choices = _known_keys(known, loc)
            hint = did_you_mean(str(loc[-1]), choices)
            suggested.update((*loc[:-1], c) for c in choices if hint == f"; did you mean '{c}'?")
            message = f"unknown field '{loc[-1]}'{hint}"
        elif error["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        problems.append(Problem(base + loc, message, context, loc))
    missing = {tuple(e["loc"]) for e in errors if e["type"] == "missing"} & suggested
    return [p for p in problems if not (p.field in missing and p.message == "Field required")]


def _known_keys(known: Sequence[str], loc: Loc) -> Sequence[str]:
    # Only the zone's or file's own keys help: a nested mapping's keys differ.
    return known if len(loc) == 1 else ()


def field_names(model: Any) -> list[str]:
    fields: Mapping[str, Any] = model.model_fields
    return list(fields)


def render(source: str, problem: Problem, lines: Mapping[Loc, int]) -> str:
    """One problem as a line of text, with the line of the file it points at."""
    parts = [source, *problem.context]
    path = ".".join(map(str, problem.field))
    if path:
        parts.append(path)
    text = ": ".join([*parts, problem.message])
    line = _line_of(problem.loc, lines)
    return f"{text} (line {line})" if line is not None else text


def _line_of(loc: Loc, lines: Mapping[Loc, int]) -> int | None:
    # The deepest part of the path the file has (a missing key points at its parent).
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None
