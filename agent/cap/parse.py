"""CAP 1.2 bytes to a validated `CapMessage`, or `Problems` naming every element wrong.

The rules are CAP 1.2's (OASIS, 2010: the schema's and the prose's), with the board's
limits (agent/cap/limits.py) on top. Paths name elements the way XPath does, 1-based,
indexing every element CAP lets repeat: `alert/info[1]/area[2]/polygon[1]`.

Element order is not checked (the schema fixes one; being lenient there loses nothing),
and elements in other namespaces (an XML signature, a profile's extension) are skipped.
"""

from __future__ import annotations

import binascii
import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TypeVar, get_args
from xml.etree.ElementTree import Element

from agent.cap import limits
from agent.cap.document import CAP_NAMESPACE, read_alert_element
from agent.cap.geometry import Budget, TooComplex, parse_circle, parse_polygon
from agent.cap.model import (
    DEFAULT_LANGUAGE,
    Area,
    CapMessage,
    Category,
    Certainty,
    Circle,
    Info,
    MsgType,
    Polygon,
    Reference,
    Resource,
    ResponseType,
    Scope,
    Severity,
    Status,
    Urgency,
    ValuePair,
)
from agent.cap.times import format_cap_time, parse_cap_time
from display_layouts.input_problems import Problem, Problems, did_you_mean, printable

RISK_LEVEL = "riskLevel"  # Vietnam's cấp độ rủi ro thiên tai (Decision 18/2021), 1–5
RISK_LEVELS = range(1, 6)
# What the board reads of each element: the children it may have, and which repeat.
_ALERT_CHILDREN = {
    "identifier", "sender", "sent", "status", "msgType", "source", "scope", "restriction",
    "addresses", "code", "note", "references", "incidents", "info",
}  # fmt: skip
_INFO_CHILDREN = {
    "language", "category", "event", "responseType", "urgency", "severity", "certainty",
    "audience", "eventCode", "effective", "onset", "expires", "senderName", "headline",
    "description", "instruction", "web", "contact", "parameter", "resource", "area",
}  # fmt: skip
_RESOURCE_CHILDREN = {"resourceDesc", "mimeType", "size", "uri", "derefUri", "digest"}
_AREA_CHILDREN = {"areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling"}
_PAIR_CHILDREN = {"valueName", "value"}
_REPEATING = {
    "code", "info", "category", "responseType", "eventCode", "parameter", "resource", "area",
    "polygon", "circle", "geocode",
}  # fmt: skip
# identifier and sender: "MUST NOT include spaces, commas or restricted characters (< and &)"
_FORBIDDEN_IN_ID = re.compile(r"[\s,<&]")
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", re.ASCII)
_SIZE = re.compile(r"\d{1,12}", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)
_SHA1 = re.compile(r"[0-9A-Fa-f]{40}", re.ASCII)
# A required value that is missing becomes a placeholder so the reading can go on and
# find every other problem; a document with any problem is refused, so none escapes.
_NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)
# CAP 1.2 §3.2.1: Ack and Error answer a message, and a Cancel may say no more than
# what it cancels; only an Alert or an Update without an <info> has nothing to show.
_NEEDS_INFO: frozenset[MsgType] = frozenset({"Alert", "Update"})

Choice = TypeVar("Choice", bound=str)


def parse_cap(payload: bytes) -> CapMessage:
    """A CAP 1.2 document, validated; `Problems` (never anything else) when it is not."""
    reader = _Reader()
    message = reader.alert(read_alert_element(payload))
    if reader.problems:
        raise Problems(reader.reported())
    return message


class _Children:
    """An element's CAP children by local name, with the path of each."""

    def __init__(self, reader: _Reader, element: Element, path: str, allowed: set[str]) -> None:
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
        return f"{self.path}/{name}[{index + 1}]" if name in _REPEATING else f"{self.path}/{name}"

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


class _Reader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.points = 0
        self.budget = Budget(limits.MAX_SEGMENT_COMPARISONS)

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
            return _NO_TIME

    def key(self, text: str, path: str) -> str:
        """An identifier or a sender: non-empty, without spaces, commas, < or &."""
        if _FORBIDDEN_IN_ID.search(text):
            self.add(path, f"'{printable(text)}' must not contain spaces, commas, '<' or '&'")
        return text

    def alert(self, root: Element) -> CapMessage:
        children = _Children(self, root, "alert", _ALERT_CHILDREN)
        identifier = self.key(children.required("identifier"), "alert/identifier")
        sender = self.key(children.required("sender"), "alert/sender")
        sent = children.time("sent", required=True) or _NO_TIME
        msg_type = children.choice("msgType", get_args(MsgType), "Alert")
        scope = children.choice("scope", get_args(Scope), "Public")
        message = CapMessage(
            identifier=identifier,
            sender=sender,
            sent=sent,
            status=children.choice("status", get_args(Status), "Actual"),
            msg_type=msg_type,
            scope=scope,
            source=children.text("source"),
            restriction=children.text("restriction", required=scope == "Restricted"),
            addresses=children.text("addresses", required=scope == "Private"),
            codes=tuple(self.text(*code) for code in children.all("code", limits.MAX_PARAMETERS)),
            note=children.text("note"),
            references=self.references(children.text("references"), identifier, sender, sent),
            incidents=children.text("incidents"),
            infos=tuple(self.info(*info) for info in children.all("info", limits.MAX_INFOS)),
        )
        if not message.infos and msg_type in _NEEDS_INFO:
            self.add("alert/info[1]", f"is required: an {msg_type} needs at least one <info>")
        return message

    def references(
        self, text: str | None, identifier: str, sender: str, sent: datetime
    ) -> tuple[Reference, ...]:
        path = "alert/references"
        words = (text or "").split()
        if len(words) > limits.MAX_REFERENCES:
            self.add(path, f"names {len(words)} messages, more than {limits.MAX_REFERENCES}")
            return ()
        found: list[Reference] = []
        for number, word in enumerate(words, start=1):
            parts = word.split(",")
            if len(parts) != 3 or not all(parts):
                shown = printable(word)
                self.add(path, f"reference {number} '{shown}' is not sender,identifier,sent")
                continue
            where = f"{path} (reference {number})"
            reference = Reference(parts[0], parts[1], self.time(parts[2], where))
            if (reference.sender, reference.identifier) == (sender, identifier):
                self.add(path, f"reference {number} is this message itself")
            elif sent is not _NO_TIME and reference.sent > sent:
                later = format_cap_time(reference.sent)
                self.add(path, f"reference {number} was sent {later}, after this message")
            found.append(reference)
        return tuple(found)

    def info(self, element: Element, path: str) -> Info:
        children = _Children(self, element, path, _INFO_CHILDREN)
        language = children.text("language") or DEFAULT_LANGUAGE
        if _LANGUAGE.fullmatch(language) is None:
            shown = printable(language)
            self.add(f"{path}/language", f"'{shown}' is not a language tag (RFC 3066)")
        categories = tuple(
            self.choice(self.text(*c, required=True), c[1], get_args(Category), "Other")
            for c in children.all("category", len(get_args(Category)))
        )
        if not categories:
            self.add(f"{path}/category[1]", "is required")
        return Info(
            categories=categories or ("Other",),
            event=children.required("event"),
            urgency=children.choice("urgency", get_args(Urgency), "Unknown"),
            severity=children.choice("severity", get_args(Severity), "Unknown"),
            certainty=children.choice("certainty", get_args(Certainty), "Unknown"),
            language=language,
            response_types=tuple(
                self.choice(self.text(*r, required=True), r[1], get_args(ResponseType), "None")
                for r in children.all("responseType", len(get_args(ResponseType)))
            ),
            audience=children.text("audience"),
            event_codes=self.pairs(children.all("eventCode", limits.MAX_PARAMETERS)),
            effective=children.time("effective"),
            onset=children.time("onset"),
            expires=children.time("expires"),
            sender_name=children.text("senderName"),
            headline=children.text("headline"),
            description=children.text("description"),
            instruction=children.text("instruction"),
            web=children.text("web"),
            contact=children.text("contact"),
            parameters=self.parameters(children.all("parameter", limits.MAX_PARAMETERS)),
            resources=tuple(
                self.resource(*r) for r in children.all("resource", limits.MAX_RESOURCES)
            ),
            areas=tuple(self.area(*a) for a in children.all("area", limits.MAX_AREAS)),
        )

    def pairs(self, found: list[tuple[Element, str]]) -> tuple[ValuePair, ...]:
        """valueName/value pairs: the name must be given, the value may be empty."""
        pairs = []
        for element, path in found:
            children = _Children(self, element, path, _PAIR_CHILDREN)
            name = children.required("valueName")
            value = children.text("value")
            if value is None:
                self.add(f"{path}/value", "is required")
            pairs.append(ValuePair(name, value or ""))
        return tuple(pairs)

    def parameters(self, found: list[tuple[Element, str]]) -> tuple[ValuePair, ...]:
        parameters = self.pairs(found)
        for parameter, (_, path) in zip(parameters, found, strict=True):
            if parameter.name.casefold() == RISK_LEVEL.casefold() and not _is_risk(parameter.value):
                shown = printable(parameter.value)
                self.add(f"{path}/value", f"riskLevel must be a whole number 1–5, not '{shown}'")
        return parameters

    def resource(self, element: Element, path: str) -> Resource:
        children = _Children(self, element, path, _RESOURCE_CHILDREN)
        size_text = children.text("size")
        if size_text is not None and _SIZE.fullmatch(size_text) is None:
            self.add(f"{path}/size", f"'{printable(size_text)}' is not a size in bytes")
        digest = children.text("digest")
        if digest is not None and _SHA1.fullmatch(digest) is None:
            self.add(f"{path}/digest", "must be a SHA-1 digest: 40 hexadecimal digits")
            digest = None
        content = self.deref(children.text("derefUri"), f"{path}/derefUri")
        if content is not None and digest is not None and _sha1(content) != digest.lower():
            self.add(f"{path}/digest", "does not match the SHA-1 of derefUri's content")
        return Resource(
            description=children.required("resourceDesc"),
            mime_type=children.required("mimeType"),
            size=int(size_text) if size_text and _SIZE.fullmatch(size_text) else None,
            uri=children.text("uri"),
            content=content,
            digest=digest.lower() if digest else None,
        )

    def deref(self, text: str | None, path: str) -> bytes | None:
        if text is None:
            return None
        try:
            return binascii.a2b_base64("".join(text.split()), strict_mode=True)
        except ValueError:  # binascii.Error, or a character outside ASCII ("¡")
            self.add(path, "is not base64")
            return None

    def area(self, element: Element, path: str) -> Area:
        children = _Children(self, element, path, _AREA_CHILDREN)
        altitude = self.decimal(children.text("altitude"), f"{path}/altitude")
        ceiling = self.decimal(children.text("ceiling"), f"{path}/ceiling")
        if ceiling is not None and altitude is None:
            self.add(f"{path}/ceiling", "needs an <altitude>")
        shapes = limits.MAX_SHAPES
        return Area(
            description=children.required("areaDesc"),
            polygons=_present(self.polygon(*f) for f in children.all("polygon", shapes)),
            circles=_present(self.circle(*f) for f in children.all("circle", shapes)),
            geocodes=self.pairs(children.all("geocode", limits.MAX_GEOCODES)),
            altitude=altitude,
            ceiling=ceiling,
        )

    def polygon(self, element: Element, path: str) -> Polygon | None:
        text = self.text(element, path, required=True)
        points = text.count(",")  # counted before anything is parsed: a bound on the work
        self.points += points
        if points > limits.MAX_POLYGON_POINTS:
            self.add(path, f"has {points} points, more than {limits.MAX_POLYGON_POINTS}")
            return None
        if self.points > limits.MAX_POINTS:
            self.add(path, f"the document's polygons have more than {limits.MAX_POINTS} points")
            return None
        try:
            return parse_polygon(text, self.budget) if text else None
        except (ValueError, TooComplex) as error:
            self.add(path, str(error))
            return None

    def circle(self, element: Element, path: str) -> Circle | None:
        text = self.text(element, path, required=True)
        try:
            return parse_circle(text) if text else None
        except ValueError as error:
            self.add(path, str(error))
            return None

    def decimal(self, text: str | None, path: str) -> float | None:
        if text is None:
            return None
        if _DECIMAL.fullmatch(text) is None or not math.isfinite(float(text)):
            self.add(path, f"'{printable(text)}' is not a decimal number")
            return None
        return float(text)


Shape = TypeVar("Shape")


def _present(shapes: Iterable[Shape | None]) -> tuple[Shape, ...]:
    """The shapes that were read (a refused one is None, and already reported)."""
    return tuple(shape for shape in shapes if shape is not None)


def _sha1(content: bytes) -> str:
    # CAP 1.2 names SHA-1 for <digest>: an integrity check, not a signature.
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def _is_risk(value: str) -> bool:
    return value.isascii() and value.isdigit() and int(value) in RISK_LEVELS
