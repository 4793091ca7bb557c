"""What a feed's body holds: Atom entries, RSS items, or one CAP document.

Parsed with defusedxml and no DTD at all: neither Atom, RSS nor CAP needs one, and a DTD
is where entity bombs and external fetches live. This module does not judge CAP (the CAP
parser does, on the same path as MQTT payloads); it only finds the CAP documents a feed
names or holds, and says in one sentence why a body is not a feed.
"""

from __future__ import annotations

import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import defusedxml
import defusedxml.ElementTree as SafeET

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_ALERT = f"{{{CAP_NAMESPACE}}}alert"
CAP_MEDIA_TYPE = "application/cap+xml"
_ATOM = "{http://www.w3.org/2005/Atom}"
_LINK_RELS = frozenset({"alternate", "related"})
_MAX_ID = 200  # an entry id is repeated in statuses and events: kept short


class FeedError(Exception):
    """The body is not something this poller reads (one sentence)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One CAP document a feed names (`link`) or holds (`inline`)."""

    entry_id: str
    updated: str
    link: str | None = None
    inline: bytes | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        # An entry whose id, date and link are unchanged names the same document.
        return (self.entry_id, self.updated, self.link or "")


@dataclass(frozen=True, slots=True)
class FeedContents:
    kind: Literal["atom", "rss", "cap"]
    entries: tuple[Entry, ...]  # at most the reader's `max_entries`, in feed order
    total: int  # entries in the feed, including those past the bound
    unusable: int  # entries (read) that name no CAP document


def parse_xml(body: bytes) -> ET.Element:
    try:
        return SafeET.fromstring(body, forbid_dtd=True)
    except defusedxml.DTDForbidden:
        raise FeedError("XML with a DTD (refused: entities and external references)") from None
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
        raise FeedError("XML with entity declarations (refused)") from None
    except ET.ParseError as exc:
        line, column = exc.position
        raise FeedError(f"not well-formed XML (line {line}, column {column})") from None


def is_cap_alert(body: bytes) -> str | None:
    """Why `body` is not a CAP 1.2 document, or None (its content is the CAP parser's)."""
    try:
        root = parse_xml(body)
    except FeedError as exc:
        return str(exc)
    if root.tag != CAP_ALERT:
        return f"not a CAP 1.2 alert: the root element is {_describe(root.tag)}"
    return None


def read_feed(body: bytes, base_url: str, max_entries: int) -> FeedContents:
    """The CAP documents in a feed body fetched from `base_url`, or `FeedError`."""
    root = parse_xml(body)
    if root.tag == CAP_ALERT:
        identifier = _text(root.find(f"{{{CAP_NAMESPACE}}}identifier")) or base_url
        entry = Entry(identifier[:_MAX_ID], "", inline=body)
        return FeedContents("cap", (entry,), 1, 0)
    if root.tag == f"{_ATOM}feed":
        return _collect("atom", root.findall(f"{_ATOM}entry"), base_url, max_entries, _atom)
    if root.tag == "rss":
        channel = root.find("channel")
        items = [] if channel is None else channel.findall("item")
        return _collect("rss", items, base_url, max_entries, _rss)
    raise FeedError(
        f"not a CAP feed: the root element is {_describe(root.tag)}; expected an Atom <feed>, "
        "an RSS <rss> or a CAP 1.2 <alert>"
    )


def _collect(
    kind: Literal["atom", "rss"],
    elements: list[ET.Element],
    base_url: str,
    max_entries: int,
    read: Callable[[ET.Element, str, int], Entry | None],
) -> FeedContents:
    entries = []
    for index, element in enumerate(elements[:max_entries]):
        entry = read(element, base_url, index)
        if entry is not None:
            entries.append(entry)
    read_count = min(len(elements), max_entries)
    return FeedContents(kind, tuple(entries), len(elements), read_count - len(entries))


def _atom(element: ET.Element, base_url: str, index: int) -> Entry | None:
    entry_id = _text(element.find(f"{_ATOM}id")) or f"#{index}"
    updated = _text(element.find(f"{_ATOM}updated"))
    content = element.find(f"{_ATOM}content")
    alert = None if content is None else content.find(CAP_ALERT)
    if alert is not None:
        return Entry(entry_id[:_MAX_ID], updated, inline=_serialise(alert))
    for link in element.findall(f"{_ATOM}link"):
        rel = link.get("rel", "alternate")
        media = link.get("type", "").split(";")[0].strip().lower()
        href = link.get("href", "").strip()
        if rel in _LINK_RELS and media == CAP_MEDIA_TYPE and href:
            return Entry(entry_id[:_MAX_ID], updated, link=urllib.parse.urljoin(base_url, href))
    return None


def _rss(element: ET.Element, base_url: str, index: int) -> Entry | None:
    href = ""
    for enclosure in element.findall("enclosure"):
        if enclosure.get("type", "").split(";")[0].strip().lower() == CAP_MEDIA_TYPE:
            href = enclosure.get("url", "").strip()
            break
    href = href or _text(element.find("link"))
    if not href:
        return None
    link = urllib.parse.urljoin(base_url, href)
    entry_id = _text(element.find("guid")) or link or f"#{index}"
    return Entry(entry_id[:_MAX_ID], _text(element.find("pubDate")), link=link)


def _serialise(alert: ET.Element) -> bytes:
    # The alert as a document of its own, its namespace the default one as CAP writes it.
    try:
        text = ET.tostring(alert, encoding="utf-8", default_namespace=CAP_NAMESPACE)
    except ValueError:  # an element without a namespace inside: keep the prefixes
        text = ET.tostring(alert, encoding="utf-8")
    return bytes(text)


def _text(element: ET.Element | None) -> str:
    return "" if element is None or element.text is None else element.text.strip()


def _describe(tag: str) -> str:
    namespace, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    where = f" in namespace {namespace[:80]}" if namespace else " without a namespace"
    return f"<{name[:40]}>{where}"
