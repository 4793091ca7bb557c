"""CAP bytes to an XML element tree, safely, or a Problems naming why not.

defusedxml's parser refuses every DTD (so no entity can be declared, let alone expanded:
no billion laughs) and every external reference (no fetch over the network or from the
disk). On top of that the document's size, element count and nesting depth are bounded
while it is read, so a hostile one costs a bounded amount of time and memory.
"""

from __future__ import annotations

import io
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import iterparse

from agent.alert_kind import looks_like_cap
from agent.cap.limits import MAX_CAP_BYTES, MAX_DEPTH, MAX_ELEMENTS
from display_layouts.input_problems import ROOT, Problem, Problems, printable

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
ALERT_TAG = f"{{{CAP_NAMESPACE}}}alert"
MAX_XML_ERROR_CHARS = 120

__all__ = ["ALERT_TAG", "CAP_NAMESPACE", "looks_like_cap", "read_alert_element"]


def _refusal(message: str, line: int | None = None) -> Problems:
    return Problems([Problem(ROOT, message, line=line)])


def read_alert_element(payload: bytes) -> Element:
    """The `<alert>` root of a CAP 1.2 document; Problems if it is not one."""
    if len(payload) > MAX_CAP_BYTES:
        raise _refusal(f"document is {len(payload)} bytes, more than the {MAX_CAP_BYTES} allowed")
    if not payload.strip():
        raise _refusal("document is empty")
    root = _parse_bounded(payload)
    if root.tag != ALERT_TAG:
        raise Problems([Problem(_root_path(root), _wrong_root(root.tag))])
    return root


def _parse_bounded(payload: bytes) -> Element:
    root: Element | None = None
    depth = elements = 0
    try:
        for event, element in iterparse(io.BytesIO(payload), ("start", "end"), forbid_dtd=True):
            if event == "end":
                depth -= 1
                continue
            root = element if root is None else root
            depth += 1
            elements += 1
            if elements > MAX_ELEMENTS:
                raise _refusal(f"has more than {MAX_ELEMENTS} elements")
            if depth > MAX_DEPTH:
                raise _refusal(f"elements are nested more than {MAX_DEPTH} deep")
    except DTDForbidden:
        raise _refusal(
            "a DTD (<!DOCTYPE …>) is not allowed: CAP needs none, and it could declare "
            "entities that expand or fetch"
        ) from None
    except EntitiesForbidden:
        raise _refusal("entity declarations are not allowed in CAP") from None
    except ExternalReferenceForbidden:
        raise _refusal("external references are not allowed in CAP") from None
    except ParseError as error:
        line = error.position[0] if getattr(error, "position", None) else None
        text = printable(str(error), MAX_XML_ERROR_CHARS)
        raise _refusal(f"is not well-formed XML: {text}", line) from None
    except (ValueError, LookupError) as error:  # e.g. an encoding expat does not know
        raise _refusal(f"cannot be read as XML: {printable(str(error))}") from None
    if root is None:  # unreachable: expat refuses a document without an element
        raise _refusal("has no root element")
    return root


def _root_path(root: Element) -> str:
    return printable(root.tag.rpartition("}")[2]) or ROOT


def _wrong_root(tag: str) -> str:
    namespace, _, name = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
    if name != "alert":
        return f"the root element must be <alert> in namespace {CAP_NAMESPACE}"
    if not namespace:
        return f'<alert> has no namespace; CAP 1.2 is xmlns="{CAP_NAMESPACE}"'
    if namespace.startswith("urn:oasis:names:tc:emergency:cap:"):
        return f"namespace '{printable(namespace)}' is another CAP version; only 1.2 is accepted"
    return f"namespace '{printable(namespace)}' is not CAP 1.2's ({CAP_NAMESPACE})"
