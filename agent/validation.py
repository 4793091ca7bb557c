"""Bytes in, a validated model or a list of errors with field paths out.

Every inbound byte string (MQTT payload, inbox file, CLI file) goes through `decode`,
so all of them fail the same way: an `InvalidInput` naming each problem and where, in
the words of the one translation (`display_layouts.input_problems`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from display_layouts.input_problems import (
    ROOT,
    Problem,
    Problems,
    dotted,
    from_validation,
    printable,
)

DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024
# Integers beyond 64 bits are absurd in any payload of the contract (and slow to convert).
MAX_JSON_INT = 2**63 - 1
MAX_STRICT_ERRORS = 20
# A lone surrogate can only enter through a \u escape: UTF-8 input cannot hold one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")

M = TypeVar("M", bound=BaseModel)

# An input that must be refused: the one problem exception (its `errors` say what is
# wrong and where); the name says what it is to a payload's reader.
InvalidInput = Problems

__all__ = [
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "ROOT",
    "InvalidInput",
    "Problem",
    "decode",
    "error",
    "field_path",
    "loads_or_none",
    "parse_json",
    "printable",
]


def error(path: str, message: str) -> Problem:
    return Problem(path or ROOT, message)


def _printable_key(part: int | str) -> str:
    # Keys come from the sender: a path must not carry them unescaped or unbounded.
    return printable(str(part))


def field_path(loc: Iterable[int | str]) -> str:
    return dotted(loc)


def _kind_of(text: str) -> str:
    word = text.rstrip()
    if not word:
        return "an empty payload"
    if word in ("true", "false", "null"):
        return f"JSON {word}"
    if word[0] == "[":
        return "a JSON array"
    if word[0] == '"':
        return "a JSON string"
    if word[0] in "-0123456789":
        return "a JSON number"
    return "text that is not JSON"


class _Duplicates(dict[str, Any]):
    """A JSON object that named some keys more than once (the last value is kept)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        counts: dict[str, int] = {}
        for key, _value in pairs:
            counts[key] = counts.get(key, 0) + 1
        self.repeated = {key: n for key, n in counts.items() if n > 1}


class _BadNumber:
    """Stands in for a number that must be refused (NaN, ±Infinity, out of range)."""

    def __init__(self, text: str, why: str) -> None:
        self.text = text
        self.why = why


def _lone_surrogate(text: str) -> str | None:
    for char in text:
        if "\ud800" <= char <= "\udfff":
            return f"U+{ord(char):04X}"
    return None


def _strict_problems(node: Any, path: list[int | str], found: list[Problem]) -> None:
    if len(found) >= MAX_STRICT_ERRORS:
        return
    if isinstance(node, dict):
        if isinstance(node, _Duplicates):
            for key, times in node.repeated.items():
                where = field_path([*path, key])
                shown = _printable_key(key)
                found.append(error(where, f"duplicate key '{shown}' (given {times} times)"))
        for key, value in node.items():
            surrogate = _lone_surrogate(key)
            if surrogate:
                found.append(
                    error(field_path(path), f"a key contains a lone surrogate {surrogate}")
                )
            _strict_problems(value, [*path, key], found)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _strict_problems(value, [*path, index], found)
    elif isinstance(node, _BadNumber):
        found.append(error(field_path(path), f"{node.text}: {node.why}"))
    elif isinstance(node, str):
        surrogate = _lone_surrogate(node)
        if surrogate:
            found.append(
                error(field_path(path), f"contains a lone surrogate {surrogate} (not Unicode text)")
            )


def parse_json(text: str) -> Any:
    """Parse JSON strictly, or raise `InvalidInput` naming each problem's path: duplicate
    keys (JSON parsers disagree on which one wins, so "status":"test" … "status":"actual"
    must not start a real alert), NaN/±Infinity or out-of-range numbers, lone surrogates.

    Python's json module does the parsing (C speed); the hooks only flag, and the tree is
    walked for paths only when something was flagged."""
    flagged = False

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal flagged
        result = dict(pairs)
        if len(result) != len(pairs):
            flagged = True
            return _Duplicates(pairs)
        return result

    def constant(name: str) -> _BadNumber:
        nonlocal flagged
        flagged = True
        return _BadNumber(name, "numbers must be finite (NaN and Infinity are not JSON)")

    def number(literal: str) -> float | _BadNumber:
        nonlocal flagged
        value = float(literal)
        if math.isfinite(value):
            return value
        flagged = True
        return _BadNumber(literal, "number out of range (not a finite number)")

    def integer(literal: str) -> int | _BadNumber:
        nonlocal flagged
        if len(literal) <= 18:  # fits for sure; the common case stays cheap
            return int(literal)
        if len(literal) <= 20 and abs(value := int(literal)) <= MAX_JSON_INT:
            return value
        flagged = True
        shown = literal if len(literal) <= 24 else f"{literal[:20]}… ({len(literal)} digits)"
        return _BadNumber(shown, "integer out of range (limit ±2^63)")

    try:
        data = json.loads(
            text,
            object_pairs_hook=pairs_hook,
            parse_constant=constant,
            parse_float=number,
            parse_int=integer,
        )
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            [error(ROOT, f"Invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]
        ) from None
    except RecursionError:
        raise InvalidInput([error(ROOT, "Invalid JSON: nested too deeply")]) from None
    if flagged or _SURROGATE_ESCAPE.search(text):
        found: list[Problem] = []
        _strict_problems(data, [], found)
        if found:
            raise InvalidInput(found)
    return data


def loads_or_none(payload: bytes) -> Any:
    """The strictly parsed JSON of `payload`, or None when it is not strict JSON (for
    best-effort looks at a payload before or after its validation, e.g. a command id)."""
    try:
        return parse_json(payload.decode("utf-8"))
    except (InvalidInput, UnicodeDecodeError):
        return None


def decode(payload: bytes, model: type[M], *, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> M:
    """Validate `payload` as a JSON document of `model`, or raise `InvalidInput`."""
    if len(payload) > max_bytes:
        raise InvalidInput([error(ROOT, f"payload is {len(payload)} bytes; limit {max_bytes}")])
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            [error(ROOT, f"not UTF-8: invalid byte at offset {exc.start}")]
        ) from None
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        raise InvalidInput([error(ROOT, f"expected a JSON object, got {_kind_of(stripped)}")])
    parse_json(text)  # what the model's own JSON parser lets through: duplicates, NaN, …
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise InvalidInput(from_validation(exc, model)) from None
