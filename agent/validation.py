"""Bytes in, a validated model or a list of errors with field paths out.

Every inbound byte string (MQTT payload, inbox file, CLI file) goes through `decode`,
so all of them fail the same way: an `InvalidInput` naming each problem and where.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from agent.messages import ErrorDetail

ROOT = "$"
DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024

M = TypeVar("M", bound=BaseModel)


class InvalidInput(Exception):
    """An input that must be refused; `errors` say what is wrong and where."""

    def __init__(self, errors: list[ErrorDetail]) -> None:
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors))
        self.errors = errors


def error(path: str, message: str) -> ErrorDetail:
    return ErrorDetail(path=path or ROOT, message=message)


def field_path(loc: Iterable[int | str]) -> str:
    return ".".join(str(part) for part in loc) or ROOT


def _message(detail: ErrorDetails) -> str:
    message = detail["msg"].removeprefix("Value error, ")
    if detail["type"] == "extra_forbidden":
        return "unknown key (not allowed here)"
    if detail["type"] == "missing":
        return "required key is missing"
    return message


def errors_from(exc: ValidationError) -> list[ErrorDetail]:
    return [error(field_path(d["loc"]), _message(d)) for d in exc.errors(include_url=False)]


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
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise InvalidInput(errors_from(exc)) from None
