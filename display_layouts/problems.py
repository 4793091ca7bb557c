"""Problems found in a layout file, worded for the person who wrote it.

Every problem is collected (not just the first), each as
"FILE: zone 'NAME': FIELD.PATH: message (line N)", with "did you mean …?" for a
misspelt key, zone type or name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from display_layouts.input_problems import Problem, Problems, did_you_mean, translate

Loc = tuple[str | int, ...]

# One or more layout files are invalid: the one problem exception (`problems` holds one
# line per problem, each naming the file and line).
LayoutError = Problems

__all__ = [
    "Finding",
    "LayoutError",
    "Loc",
    "did_you_mean",
    "from_validation",
    "render",
    "zone_context",
]


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem still located in the file's data, before its line is looked up (`render`
    makes it a `Problem`)."""

    loc: Loc  # where in the file's data, e.g. ("zones", 2, "size", 1): finds the line
    message: str
    context: tuple[str, ...] = ()  # what it concerns, e.g. ("zone 'title'",)
    field: Loc = ()  # the path shown after the context (e.g. ("size", 1))


def zone_context(name: str) -> str:
    return f"zone '{name}'"


def from_validation(
    exc: ValidationError,
    model: Any,
    *,
    base: Loc = (),
    context: tuple[str, ...] = (),
) -> list[Finding]:
    """pydantic's errors for data validated as `model`, through the one translation."""
    return [
        Finding(base + loc, message, context, loc)
        for loc, message in translate(exc, model, unknown_key="unknown field '{key}'")
    ]


def render(source: str, finding: Finding, lines: Mapping[Loc, int]) -> Problem:
    """A finding as a problem of the file, with the line of the file it points at."""
    where = [*finding.context]
    path = ".".join(map(str, finding.field))
    if path:
        where.append(path)
    return Problem(": ".join(where), finding.message, source, _line_of(finding.loc, lines))


def _line_of(loc: Loc, lines: Mapping[Loc, int]) -> int | None:
    # The deepest part of the path the file has (a missing key points at its parent).
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None
