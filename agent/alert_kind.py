"""Which of the two alert formats a payload is (CONTRACT §6), told apart by content.

Kept apart from agent/cap so that sniffing a payload costs no import: agent/cap (with
defusedxml and xml.etree) is loaded only when the first CAP payload arrives.
"""

from __future__ import annotations

from agent.validation import loads_or_none

_SNIFF_BYTES = 64
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def looks_like_cap(payload: bytes) -> bool:
    """Whether an alert payload is XML (so CAP's to parse or refuse) rather than JSON.

    Decided by the first non-blank byte: JSON starts with `{`, XML with `<`. Any XML
    counts, not only a document in CAP 1.2's namespace, so that a CAP 1.1 alert or a
    typo in the namespace gets CAP's clear refusal rather than "not JSON"."""
    head = payload[:_SNIFF_BYTES]
    for bom in _BOMS:
        if head.startswith(bom):
            head = head[len(bom) :]
            break
    head = head.lstrip(b" \t\r\n\x00")  # a UTF-16 document interleaves NULs
    return head.startswith(b"<")


def alert_id_of(payload: bytes) -> str | None:
    """The id of a payload that says it is an alert (an inbox file may be one), else None."""
    data = loads_or_none(payload)  # strict: "type" given twice is not an alert's
    if isinstance(data, dict) and data.get("type") == "alert":
        alert_id = data.get("id")
        return alert_id if isinstance(alert_id, str) and alert_id else "(no id)"
    return None
