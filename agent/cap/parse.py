"""CAP 1.2 bytes to a validated `CapMessage`, or `Problems` naming every element wrong.

The rules are CAP 1.2's (OASIS, 2010: the schema's and the prose's), with the board's
limits (agent/cap/limits.py) on top. This module says what each element means and
which children it may have; reading elements whatever their meaning (paths, text within
limits, choices, times, the problems collected) is agent/cap/elements.py's.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Iterable
from datetime import datetime
from typing import TypeVar, get_args
from xml.etree.ElementTree import Element

from agent.cap import limits
from agent.cap.document import read_alert_element
from agent.cap.elements import NO_TIME, Children, ElementReader
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
from agent.cap.times import format_cap_time
from display_layouts.input_problems import Problems, printable

RISK_LEVEL = "riskLevel"  # Vietnam's cấp độ rủi ro thiên tai (Decision 18/2021), 1–5
RISK_LEVELS = range(1, 6)
# What the board reads of each element: the children it may have (which of them repeat
# is agent/cap/elements.py's `REPEATING`).
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
# identifier and sender: "MUST NOT include spaces, commas or restricted characters (< and &)"
_FORBIDDEN_IN_ID = re.compile(r"[\s,<&]")
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", re.ASCII)
_SIZE = re.compile(r"\d{1,12}", re.ASCII)
_SHA1 = re.compile(r"[0-9A-Fa-f]{40}", re.ASCII)
# CAP 1.2 §3.2.1: Ack and Error answer a message, and a Cancel may say no more than
# what it cancels; only an Alert or an Update without an <info> has nothing to show.
_NEEDS_INFO: frozenset[MsgType] = frozenset({"Alert", "Update"})


def parse_cap(payload: bytes) -> CapMessage:
    """A CAP 1.2 document, validated; `Problems` (never anything else) when it is not."""
    reader = _Reader()
    message = reader.alert(read_alert_element(payload))
    if reader.problems:
        raise Problems(reader.reported())
    return message


class _Reader(ElementReader):
    """What each CAP element means: the message, its infos, resources and areas."""

    def __init__(self) -> None:
        super().__init__()
        # The document's polygons: their points and the geometry checks, bounded.
        self.points = 0
        self.budget = Budget(limits.MAX_SEGMENT_COMPARISONS)

    def key(self, text: str, path: str) -> str:
        """An identifier or a sender: non-empty, without spaces, commas, < or &."""
        if _FORBIDDEN_IN_ID.search(text):
            self.add(path, f"'{printable(text)}' must not contain spaces, commas, '<' or '&'")
        return text

    def alert(self, root: Element) -> CapMessage:
        children = Children(self, root, "alert", _ALERT_CHILDREN)
        identifier = self.key(children.required("identifier"), "alert/identifier")
        sender = self.key(children.required("sender"), "alert/sender")
        sent = children.time("sent", required=True) or NO_TIME
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
            elif sent is not NO_TIME and reference.sent > sent:
                later = format_cap_time(reference.sent)
                self.add(path, f"reference {number} was sent {later}, after this message")
            found.append(reference)
        return tuple(found)

    def info(self, element: Element, path: str) -> Info:
        children = Children(self, element, path, _INFO_CHILDREN)
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
            children = Children(self, element, path, _PAIR_CHILDREN)
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
        children = Children(self, element, path, _RESOURCE_CHILDREN)
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
        children = Children(self, element, path, _AREA_CHILDREN)
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


Shape = TypeVar("Shape")


def _present(shapes: Iterable[Shape | None]) -> tuple[Shape, ...]:
    """The shapes that were read (a refused one is None, and already reported)."""
    return tuple(shape for shape in shapes if shape is not None)


def _sha1(content: bytes) -> str:
    # CAP 1.2 names SHA-1 for <digest>: an integrity check, not a signature.
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def _is_risk(value: str) -> bool:
    return value.isascii() and value.isdigit() and int(value) in RISK_LEVELS
