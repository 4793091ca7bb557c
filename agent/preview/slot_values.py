"""What the preview's picture and clip stores share: the walk over a draft's slots of
one kind, and the reading of a `{url, sha256}` value, before each store does its own
part (embedding a picture, probing a clip)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agent.validation import InvalidInput
from display_layouts.input_problems import Problem
from display_layouts.spec import LayoutSpec, SlotKind

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Unusable(Exception):
    """Why a slot's picture or clip cannot be used (one sentence naming the file or URL)."""


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and _SHA256.match(value) is not None


def replace_slots(
    spec: LayoutSpec,
    fields: Mapping[str, Any],
    kind: SlotKind,
    drawable: Callable[[str, object, Path | None], object],
    base: Path | None,
) -> dict[str, Any]:
    """`fields` with each slot of `kind` replaced by `drawable(name, value, base)`;
    `InvalidInput` naming every slot whose value raised `Unusable`."""
    result = dict(fields)
    problems = []
    for name, value in fields.items():
        slot = spec.slot(name)
        if slot is None or slot.kind is not kind:
            continue
        try:
            result[name] = drawable(name, value, base)
        except Unusable as exc:
            problems.append(Problem(f"fields.{name}", str(exc)))
    if problems:
        raise InvalidInput(problems)
    return result


def remote_value(
    value: dict[str, Any], fetch: Callable[[str, str | None], dict[str, str]]
) -> dict[str, Any]:
    """A `{url, sha256}` value with what `fetch(url, sha256)` made of it; one the
    board's checks will refuse (no URL, a malformed digest) is left as it is for them to
    name. Other keys stay, for the board's checks to refuse too."""
    url, sha256 = value.get("url"), value.get("sha256")
    if not isinstance(url, str) or not (sha256 is None or is_sha256(sha256)):
        return value
    return value | fetch(url, sha256 if isinstance(sha256, str) else None)
