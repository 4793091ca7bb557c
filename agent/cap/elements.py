"""Reading CAP elements, whatever their meaning: an element's CAP children by local name,
each with its XPath-like path (1-based, indexed where CAP lets it repeat:
`alert/info[1]/area[2]/polygon[1]`); text within the board's length limits; a choice
among CAP's words; a time; a decimal; and every problem collected (capped in number)
so that one reading names all of them. agent/cap/parse.py says what each element means.

Element order is not checked (the schema fixes one; being lenient there loses nothing),
and elements in other namespaces (an XML signature, a profile's extension) are skipped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar
from xml.etree.ElementTree import Element

from agent.cap import limits
from agent.cap.document import CAP_NAMESPACE
from agent.cap.times import parse_cap_time
from display_layouts.input_problems import Problem, did_you_mean, printable

# The elements CAP lets repeat: their paths carry an index.
REPEATING = {
    "code", "info", "category", "responseType", "eventCode", "parameter", "resource", "area",
    "polygon", "circle", "geocode",
}  # fmt: skip
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)
# A required value that is missing becomes a placeholder so the reading can go on and
# find every other problem; a document with any problem is refused, so none escapes.
NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)

Choice = TypeVar("Choice", bound=str)


class Children:
    """An element's CAP children by local name, with the path of each."""

    def __init__(
        self, reader: ElementReader, element: Element, path: str, allowed: set[str]
    ) -> None:
        self.reader = reader
        self.path = path
        self.by_name: dict[str, list[Element]] = {}
        for child in element:
            if not isinstance(child.tag, str):
                continue  # a comment or a processing instruction
            namespace, _, name = child.tag[1:].rpartition("}")
            if not child.tag.startswith("{"):
                reader.add(f"{path}/{printable(child.tag)}", "is not in the CAP 1.2 namespace")
            elif namespace != CAP_NAMESPACE:
                continue  # another namespace's extension or a signature: not ours to read
            elif name not in allowed:
                hint = did_you_mean(name, allowed)
                reader.add(f"{path}/{printable(name)}", f"is not a CAP element here{hint}")
            else:
                self.by_name.setdefault(name, []).append(child)

    def path_of(self, name: str, index: int = 0) -> str:
        return f"{self.path}/{name}[{index + 1}]" if name in REPEATING else f"{self.path}/{name}"

    def all(self, name: str, limit: int | None = None) -> list[tuple[Element, str]]:
        found = self.by_name.get(name, [])
        if limit is not None and len(found) > limit:
            self.reader.add(self.path, f"has {len(found)} <{name}> elements, more than {limit}")
            return []
        return [(element, self.path_of(name, i)) for i, element in enumerate(found)]

    def one(self, name: str) -> tuple[Element, str] | None:
        found = self.by_name.get(name, [])
        if len(found) > 1:
            self.reader.add(self.path_of(name), f"appears {len(found)} times; CAP allows one")
        return (found[0], self.path_of(name)) if found else None

    def text(self, name: str, *, required: bool = False) -> str | None:
        found = self.one(name)
        if found is None:
            if required:
                self.reader.add(self.path_of(name), "is required")
            return None
        return self.reader.text(*found, required=required)

    def required(self, name: str) -> str:
        return self.text(name, required=True) or ""

    def choice(self, name: str, options: Sequence[Choice], placeholder: Choice) -> Choice:
        text = self.text(name, required=True)
        if not text:  # missing or empty: already reported
            return placeholder
        return self.reader.choice(text, self.path_of(name), options, placeholder)

    def time(self, name: str, *, required: bool = False) -> datetime | None:
        text = self.text(name, required=required)
        return self.reader.time(text, self.path_of(name)) if text else None


class ElementReader:
    """The problems of one document, and the readings every element kind shares."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def reported(self) -> list[Problem]:
        shown = self.problems[: limits.MAX_PROBLEMS]
        hidden = len(self.problems) - len(shown)
        if hidden:
            shown.append(Problem("alert", f"and {hidden} more problems"))
        return shown

    def text(self, element: Element, path: str, *, required: bool = False) -> str:
        if any(isinstance(child.tag, str) for child in element):
            self.add(path, "must hold text, not elements")
            return ""
        text = (element.text or "").strip()
        name = path.rpartition("/")[2].partition("[")[0]
        limit = limits.MAX_LONG_TEXT_CHARS.get(name, limits.MAX_TEXT_CHARS)
        if len(text) > limit:
            self.add(path, f"is {len(text)} characters long, more than {limit}")
            return ""
        if required and not text:
            self.add(path, "must not be empty")
        return text

    def choice(
        self, text: str, path: str, options: Sequence[Choice], placeholder: Choice
    ) -> Choice:
        if not text:  # an empty required element: already reported
            return placeholder
        for option in options:
            if text == option:
                return option
        listed = ", ".join(options)
        hint = did_you_mean(text, options)
        self.add(path, f"'{printable(text)}' is not one of {listed}{hint}")
        return placeholder

    def time(self, text: str, path: str) -> datetime:
        try:
            return parse_cap_time(text)
        except ValueError as error:
            self.add(path, f"'{printable(text)}' {error}")
            return NO_TIME

    def decimal(self, text: str | None, path: str) -> float | None:
        if text is None:
            return None
        if _DECIMAL.fullmatch(text) is None or not math.isfinite(float(text)):
            self.add(path, f"'{printable(text)}' is not a decimal number")
            return None
        return float(text)
