"""What ingest checks before it stores a byte: the topic (which board, which message), the
payload's size, encoding and shape, its times, and a screenshot's PNG header.

Every problem is a `BadPayload` whose text says what is wrong in a bounded sentence;
values from the payload appear only as short `repr`s, so a log line can hold no newline
or control character that a board sent. Unknown keys are never a problem: boards of a
later version add keys (CONTRACT §3), and the whole body is stored.
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

MAX_JSON_BYTES = 1024 * 1024  # the agent's own default limit for inbound payloads
MAX_SCREENSHOT_BYTES = 10 * 1024 * 1024  # a 1920x1080 frame is 1-3 MB as PNG
MAX_PNG_SIDE = 16384
MAX_TIME_TEXT = 64
SHOWN = 60  # characters of a bad value quoted in a problem

# CONTRACT §1: a board id is a slug of at most 64 characters (also the MQTT client id).
BOARD_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

BoardLeaf = Literal["status", "heartbeat", "events", "cmd/result", "screenshot"]
BOARD_LEAVES: tuple[BoardLeaf, ...] = ("status", "heartbeat", "events", "cmd/result", "screenshot")


class BadPayload(Exception):
    """A message ingest will not store; the text says why (one sentence, bounded)."""


@dataclass(frozen=True, slots=True)
class BoardMessage:
    """A message a board published on `{root}/board/{board_id}/{leaf}`."""

    board_id: str
    leaf: BoardLeaf


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """A message on `{root}/alert/…`: the city's alerts (fleet.alert_ingest reads them)."""


def shown(value: object) -> str:
    """A value as a problem quotes it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def parse_topic(topic: str, root: str) -> BoardMessage | AlertMessage:
    prefix = root + "/"
    if not topic.startswith(prefix):
        raise BadPayload(f"not under the topic root {root!r}")
    parts = topic[len(prefix) :].split("/")
    if parts[0] == "alert" and len(parts) > 1:
        return AlertMessage()
    if parts[0] != "board" or len(parts) < 3:
        raise BadPayload("not a board's or an alert's topic")
    board_id, leaf = parts[1], "/".join(parts[2:])
    if not BOARD_ID.fullmatch(board_id):
        raise BadPayload(
            f"board id {shown(board_id)} is not a slug (a-z, 0-9, '-', at most 64 characters)"
        )
    for known in BOARD_LEAVES:
        if leaf == known:
            return BoardMessage(board_id, known)
    raise BadPayload(f"a board's topic ingest does not read ({shown(leaf)})")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_object(payload: bytes, limit: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The payload as a JSON object: at most `limit` bytes, UTF-8, no NaN or Infinity
    (which PostgreSQL's JSON refuses and JSON itself does not have)."""
    if len(payload) > limit:
        raise BadPayload(f"payload of {len(payload)} bytes is over the limit of {limit}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadPayload(f"not UTF-8 (byte {error.start})") from None
    try:
        body = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise BadPayload("not JSON: nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, a bad constant, an over-long integer
        raise BadPayload(f"not JSON: {str(error)[:120]}") from None
    if not isinstance(body, dict):
        raise BadPayload(f"not a JSON object (a {type(body).__name__})")
    return body


def expect_type(body: dict[str, Any], expected: str) -> None:
    if body.get("type") != expected:
        raise BadPayload(f"type is {shown(body.get('type'))}, expected {expected!r}")


def timestamp(body: dict[str, Any], key: str, *, required: bool) -> datetime | None:
    """An RFC 3339 time with an offset (CONTRACT §3)."""
    value = body.get(key)
    if value is None:
        if required:
            raise BadPayload(f"{key} is missing")
        return None
    if not isinstance(value, str) or len(value) > MAX_TIME_TEXT:
        raise BadPayload(f"{key} is not a time: {shown(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadPayload(f"{key} is not an RFC 3339 time: {shown(value)}") from None
    if parsed.tzinfo is None:
        raise BadPayload(f"{key} has no offset: {shown(value)}")
    return parsed


def required_timestamp(body: dict[str, Any], key: str) -> datetime:
    found = timestamp(body, key, required=True)
    assert found is not None
    return found


def required_text(body: dict[str, Any], key: str, max_length: int) -> str:
    found = text(body, key, max_length, required=True)
    assert found is not None
    return found


def text(body: dict[str, Any], key: str, max_length: int, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise BadPayload(f"{key} is missing")
        return None
    if not isinstance(value, str) or not 0 < len(value) <= max_length:
        raise BadPayload(f"{key} is not a text of 1 to {max_length} characters: {shown(value)}")
    return value


def integer(body: dict[str, Any], key: str, low: int, high: int) -> int:
    value = body.get(key)
    # bool is an int in Python, never in a payload
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BadPayload(f"{key} is not an integer from {low} to {high}: {shown(value)}")
    return value


def slug_list(value: object, what: str, limit: int) -> list[str]:
    if not isinstance(value, list) or len(value) > limit:
        raise BadPayload(f"{what} is not a list of at most {limit} slugs: {shown(value)}")
    for item in value:
        if not isinstance(item, str) or not BOARD_ID.fullmatch(item):
            raise BadPayload(f"{what} holds {shown(item)}, not a slug")
    return list(value)


def text_list(value: object, what: str, limit: int, max_length: int) -> list[str]:
    if not isinstance(value, list) or len(value) > limit:
        raise BadPayload(f"{what} is not a list of at most {limit} texts: {shown(value)}")
    for item in value:
        if not isinstance(item, str) or not 0 < len(item) <= max_length:
            raise BadPayload(f"{what} holds {shown(item)}, not a text of 1 to {max_length}")
    return list(value)


def location(value: object) -> tuple[float, float] | None:
    """`[lat, lon]` in degrees, or null."""
    if value is None:
        return None
    if isinstance(value, list) and len(value) == 2:
        lat, lon = value
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        finite = numbers and math.isfinite(lat) and math.isfinite(lon)
        if finite and -90 <= lat <= 90 and -180 <= lon <= 180:
            return float(lat), float(lon)
    raise BadPayload(f"location is not [latitude, longitude] in degrees: {shown(value)}")


def png_size(payload: bytes, limit: int = MAX_SCREENSHOT_BYTES) -> tuple[int, int]:
    """The width and height in a PNG's header (IHDR, the first chunk); the image itself
    is not decoded: the page shows it as the board sent it."""
    if len(payload) > limit:
        raise BadPayload(f"screenshot of {len(payload)} bytes is over the limit of {limit}")
    if not payload.startswith(PNG_SIGNATURE):
        raise BadPayload("screenshot is not a PNG (no PNG signature)")
    header = payload[8:24]
    if len(header) < 16 or header[4:8] != b"IHDR" or header[:4] != b"\x00\x00\x00\x0d":
        raise BadPayload("screenshot is not a PNG (no IHDR header)")
    width, height = struct.unpack(">II", header[8:16])
    if not (0 < width <= MAX_PNG_SIDE and 0 < height <= MAX_PNG_SIDE):
        raise BadPayload(f"screenshot is {width}x{height}, not 1 to {MAX_PNG_SIDE} pixels a side")
    return width, height
