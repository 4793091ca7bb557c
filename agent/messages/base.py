"""What every payload is built on: the strict inbound and the plain outbound base model,
channel names, slugs and ids, times of day, and the board's time on outbound messages."""

from __future__ import annotations

import re
from datetime import datetime, time, tzinfo
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
)

from agent import time_zones
from display_layouts.input_problems import named_pattern


class Inbound(BaseModel):
    # allow_inf_nan=False: every number must be finite (a NaN reaching the renderer is a
    # crash loop); `validation.decode` also refuses NaN/Infinity in free-form JSON.
    # defer_build: a payload's validator is built when the first one of its kind arrives
    # (most kinds never come to most boards), not at import, before the first frame.
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False, defer_build=True
    )


class Outbound(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


# Named forms: an error says the words, the JSON Schema shows the pattern.
_SLUG = r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?"
SLUG_PATTERN = named_pattern(
    f"^{_SLUG}$",
    "a slug: lower-case letters, digits and '-' (not first or last), e.g. ba-dinh",
)
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=64)]

# The fixed channels, in rotation order; beside them one channel per group the board
# belongs to (CONTRACT §8), named `group:{slug}`. A channel name is also part of a file
# name in the state dir (agent/caches.py): a slug cannot leave its folder.
FixedChannel = Literal["city", "district", "commune", "board", "local"]
CHANNELS: tuple[FixedChannel, ...] = ("city", "district", "commune", "board", "local")
BROKER_CHANNELS: tuple[FixedChannel, ...] = ("city", "district", "commune", "board")
GROUP_PREFIX = "group:"
CHANNEL_PATTERN = named_pattern(
    rf"^(city|district|commune|board|local|group:{_SLUG})$",
    "a channel: city, district, commune, board, local, or group:NAME (NAME a slug)",
)
Channel = Annotated[str, StringConstraints(pattern=CHANNEL_PATTERN, max_length=70)]
_GROUP_SLUG = re.compile(SLUG_PATTERN)


def group_channel(group: str) -> str:
    """The channel name of a group (`truong-hoc` → `group:truong-hoc`)."""
    return GROUP_PREFIX + group


def group_of(channel: str) -> str | None:
    """The group a channel belongs to, or None for a fixed channel (or no valid group)."""
    if not channel.startswith(GROUP_PREFIX):
        return None
    group = channel.removeprefix(GROUP_PREFIX)
    return group if len(group) <= 64 and _GROUP_SLUG.fullmatch(group) else None


# Ids chosen by the city's systems (items, alerts, commands).
IDENTIFIER_PATTERN = named_pattern(
    r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
    "an id: letters, digits and . _ : - (starting with a letter or digit)",
)
Identifier = Annotated[
    str, StringConstraints(pattern=IDENTIFIER_PATTERN, min_length=1, max_length=128)
]
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


def is_identifier(value: str) -> bool:
    """Whether `value` is a valid id (safe to echo in a result, a log line or a topic)."""
    return 0 < len(value) <= 128 and _IDENTIFIER.fullmatch(value) is not None


CLOCK_TIME_WORDS = "a time of day as HH:MM (00:00 to 23:59)"
CLOCK_TIME_PATTERN = named_pattern(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", CLOCK_TIME_WORDS)
_CLOCK_TIME = re.compile(CLOCK_TIME_PATTERN)


def _clock_time(value: Any) -> time:
    # Exactly the text "HH:MM", as on the wire (a TOML time such as 07:00:00 is not one):
    # the one parser of a time of day.
    if isinstance(value, str) and _CLOCK_TIME.fullmatch(value):
        return time(int(value[:2]), int(value[3:]))
    raise ValueError(f"Input should be {CLOCK_TIME_WORDS}")


def _hh_mm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


# A time of day (schedules, brightness steps): a `datetime.time` inside, "HH:MM" outside.
ClockTime = Annotated[
    time,
    PlainValidator(_clock_time),
    PlainSerializer(_hh_mm, return_type=str),
    WithJsonSchema({"type": "string", "pattern": CLOCK_TIME_PATTERN}),
]


# The board's time zone ([board] timezone); `signage-agent run` sets it before starting.
# The default is looked up when first needed, not at import: a computer without a
# time-zone database is then told so in one line (agent.time_zones), not by a traceback.
DEFAULT_BOARD_ZONE = "Asia/Ho_Chi_Minh"
_BOARD_ZONE: dict[str, tzinfo] = {}


def set_board_zone(zone: tzinfo) -> None:
    _BOARD_ZONE["zone"] = zone


def board_zone() -> tzinfo:
    """The board's time zone: what times shown on screen are given in."""
    if "zone" not in _BOARD_ZONE:
        _BOARD_ZONE["zone"] = time_zones.zone(DEFAULT_BOARD_ZONE)
    return _BOARD_ZONE["zone"]


def board_time(value: datetime) -> str:
    """THE format of every outbound time (CONTRACT §3): RFC 3339 in the board's time zone
    with its offset, to the millisecond: `2026-11-27T09:00:00.000+07:00`."""
    return value.astimezone(board_zone()).isoformat(timespec="milliseconds")


# Outbound times: RFC 3339 with the board's offset, to the millisecond (proof of play).
Timestamp = Annotated[
    AwareDatetime,
    PlainSerializer(board_time, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
