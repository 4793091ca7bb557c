"""Bad playlist payloads and the field path each rejection must name (shared by unit and
end-to-end tests)."""

from __future__ import annotations

import json
from typing import Any

GOOD_ITEM: dict[str, Any] = {
    "id": "thong-bao-1",
    "layout": "fullscreen_text",
    "fields": {"title": "Thông báo", "text": "Lịch tiêm chủng tuần này"},
}


def doc(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "playlist",
        "version": 1000,
        "issued_at": "2026-11-27T07:30:00+07:00",
        "items": [dict(GOOD_ITEM)],
    }
    base.update(changes)
    return base


def item(**changes: Any) -> dict[str, Any]:
    return doc(items=[{**GOOD_ITEM, **changes}])


def fields(**slots: Any) -> dict[str, Any]:
    return item(fields=slots)


def encode(value: Any) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value, ensure_ascii=False).encode()


_nested = (
    '{"type":"playlist","version":1,"issued_at":"2026-11-27T07:30:00+07:00","items":'
    + "[" * 5000
    + "]" * 5000
    + "}"
)

# (case name, payload, a path that one of the errors must name)
BAD_PAYLOADS: list[tuple[str, bytes, str]] = [
    (name, encode(payload), path)
    for name, payload, path in [
        ("not JSON", b"Th\xc3\xb4ng b\xc3\xa1o: not json", "$"),
        ("invalid UTF-8", b'{"type": "playlist", "version": 1, "x": "\xff\xfe"}', "$"),
        ("JSON array", b'[{"type": "playlist"}]', "$"),
        ("JSON string", b'"playlist"', "$"),
        ("missing keys", {"type": "playlist"}, "version"),
        ("unknown top-level key", doc(colour="red"), "colour"),
        ("unknown item key", item(durration_s=5), "items.0.durration_s"),
        ("items is an object", doc(items={}), "items"),
        ("negative duration", item(duration_s=-5), "items.0.duration_s"),
        ("duration as boolean", item(duration_s=True), "items.0.duration_s"),
        ("version as string", doc(version="17"), "version"),
        ("version as float", doc(version=1.5), "version"),
        ("negative version", doc(version=-1), "version"),
        ("wrong type discriminator", doc(type="alert"), "type"),
        ("unknown layout", item(layout="fulscreen_text"), "items.0.layout"),
        ("reserved layout", item(layout="idle", fields={}), "items.0.layout"),
        ("missing slot", fields(title="Thông báo"), "items.0.fields.text"),
        ("unknown slot", fields(text="Mất điện", colour="red"), "items.0.fields.colour"),
        (
            "image in a text slot",
            fields(text={"url": "https://x.vn/a.png", "sha256": "0" * 64}),
            "items.0.fields.text",
        ),
        ("empty text", fields(text="   "), "items.0.fields.text"),
        ("NUL byte in text", fields(text="Mất\u0000điện"), "items.0.fields.text"),
        ("escape code in text", fields(text="\u001b[2JMất điện"), "items.0.fields.text"),
        ("100 000-character text", fields(text="á" * 100_000), "items.0.fields.text"),
        ("5 MiB payload", fields(text="x" * (5 * 1024 * 1024)), "$"),
        ("deeply nested JSON", _nested.encode(), "$"),
        ("bad timestamp", doc(issued_at="hôm qua"), "issued_at"),
        ("timestamp without offset", doc(issued_at="2026-11-27T07:30:00"), "issued_at"),
        ("impossible date", item(valid_from="2026-02-30T00:00:00+07:00"), "items.0.valid_from"),
        (
            "valid_until before valid_from",
            item(valid_from="2026-11-28T00:00:00+07:00", valid_until="2026-11-27T00:00:00+07:00"),
            "items.0.valid_until",
        ),
        ("absurd priority", item(priority=10**9), "items.0.priority"),
        ("absurd duration", item(duration_s=10**7), "items.0.duration_s"),
        ("duplicate item ids", doc(items=[GOOD_ITEM, GOOD_ITEM]), "items.1.id"),
        (
            "bad schedule day",
            item(schedule=[{"days": ["monday"], "from": "06:00", "to": "21:00"}]),
            "items.0.schedule.0.days.0",
        ),
        (
            "bad schedule time",
            item(schedule=[{"days": ["mon"], "from": "25:00", "to": "21:00"}]),
            "items.0.schedule.0.from",
        ),
        (
            "broken image",
            doc(
                items=[
                    {
                        "id": "anh",
                        "layout": "image_caption",
                        "fields": {"image": "data:image/png;base64,AAAAAAAA"},
                    }
                ]
            ),
            "items.0.fields.image",
        ),
        ("too many items", doc(items=[{**GOOD_ITEM, "id": f"i{n}"} for n in range(201)]), "items"),
        ("bad item id", item(id="../etc/passwd"), "items.0.id"),
    ]
]

# Bad for `validate`, but not for a board: since issue 14 a playlist naming a layout the
# board does not have waits for it (one content.warning; it may arrive over MQTT,
# tests/test_e2e_layouts_mqtt.py) instead of being rejected.
WAITS_ON_A_BOARD = frozenset({"unknown layout"})
