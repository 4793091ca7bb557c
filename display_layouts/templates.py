"""Slot bindings in zone texts: "{title}", "Cập nhật: {updated}", literal braces as {{ }}.

A template names the slots a zone shows; the layout's slots (what a playlist item may
fill) are exactly the names its templates use, minus the few variables the agent fills
itself (`board_name`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

# Filled by the agent, never by a playlist item.
BUILTIN_VARIABLES = frozenset({"board_name"})

SLOT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

Part = tuple[str, str | None]  # literal text, then the variable after it (if any)


def parse(template: str) -> tuple[Part, ...]:
    """The template as (literal, variable) parts; ValueError with a plain sentence."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:  # "Single '}' encountered", "expected '}' before end"
        raise ValueError(f"{exc}; write a literal brace as {{{{ or }}}}") from None
    parts: list[Part] = []
    for literal, name, spec, conversion in parsed:
        if name is not None and (spec or conversion or not SLOT_NAME.match(name)):
            raise ValueError(
                f"'{{{name}}}' is not a slot: a slot is written {{name}} with lower-case "
                "letters, digits and _"
            )
        parts.append((literal, name))
    return tuple(parts)


def variables(template: str) -> tuple[str, ...]:
    """Every variable the template uses, in order, once each."""
    names = (name for _, name in parse(template) if name is not None)
    return tuple(dict.fromkeys(names))


def slots(template: str) -> tuple[str, ...]:
    """The variables a playlist item fills (the agent's own ones left out)."""
    return tuple(name for name in variables(template) if name not in BUILTIN_VARIABLES)


def check(template: str) -> str:
    """For pydantic: the template unchanged if it parses."""
    parse(template)
    return template


def fill(template: str, lookup: Callable[[str], str | None]) -> str | None:
    """The template with its variables replaced; None when it has variables and every one
    of them is empty (the zone then has nothing to show), a literal-only template as is."""
    parts = parse(template)
    values = {name: lookup(name) for _, name in parts if name is not None}
    if values and all(value is None for value in values.values()):
        return None
    return "".join(literal + ((values.get(name) or "") if name else "") for literal, name in parts)
