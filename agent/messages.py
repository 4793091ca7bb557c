"""Every payload of the contract (CONTRACT §3) as pydantic models.

One source: the agent validates inbound bytes with these models, builds outbound
payloads with them, and `signage-agent schema` prints their JSON Schemas.

Inbound models are strict (`extra="forbid"`, JSON types as written: a version sent as
the string "17" is an error, not 17) because a typo must not pass silently.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime, time, tzinfo
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
    field_validator,
    model_validator,
)

from display_layouts.image_formats import is_data_uri
from display_layouts.input_problems import named_pattern

# Limits against absurd input; generous for real notices.
MAX_TEXT_CHARS = 4000
MAX_ITEMS = 200
MAX_FIELDS = 16
MAX_DURATION_S = 86_400
MAX_ABS_PRIORITY = 1000

Channel = Literal["city", "district", "commune", "board", "local"]
CHANNELS: tuple[Channel, ...] = ("city", "district", "commune", "board", "local")
BROKER_CHANNELS: tuple[Channel, ...] = ("city", "district", "commune", "board")

# Named forms: an error says the words, the JSON Schema shows the pattern.
SLUG_PATTERN = named_pattern(
    r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$",
    "a slug: lower-case letters, digits and '-' (not first or last), e.g. ba-dinh",
)
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=64)]
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


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
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


def clean_text(value: str) -> str:
    """NFC-normalise and refuse control characters (NUL, escape codes) and lone surrogates
    (not Unicode: they cannot even be encoded to UTF-8); keep newlines and tabs."""
    for index, char in enumerate(value):
        if "\ud800" <= char <= "\udfff":
            raise ValueError(f"contains a lone surrogate U+{ord(char):04X} at position {index}")
    text = unicodedata.normalize("NFC", value)
    for index, char in enumerate(text):
        if unicodedata.category(char) == "Cc" and char not in "\n\t":
            raise ValueError(f"contains control character U+{ord(char):04X} at position {index}")
    return text


def clean_name(value: str) -> str:
    """`clean_text` for one-line strings (names, senders): no newlines or tabs either."""
    text = clean_text(value)
    for index, char in enumerate(text):
        if char in "\n\t":
            raise ValueError(f"contains control character U+{ord(char):04X} at position {index}")
    return text


NoticeText = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS), AfterValidator(clean_text)
]

MAX_ARGS_DEPTH = 8


def _clean_json_value(value: Any, path: str, depth: int) -> Any:
    # Free-form JSON (command args): the same rules as every other field, all the way down.
    if depth > MAX_ARGS_DEPTH:
        raise ValueError(f"{path}: nested deeper than {MAX_ARGS_DEPTH} levels")
    if isinstance(value, str):
        try:
            return clean_text(value)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path}: numbers must be finite (got {value})")
    if isinstance(value, list):
        return [_clean_json_value(v, f"{path}.{i}", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            try:
                name = clean_name(key)
            except ValueError as exc:
                raise ValueError(f"{path}: a key {exc}") from None
            cleaned[name] = _clean_json_value(item, f"{path}.{name[:64]}", depth + 1)
        return cleaned
    return value


def _clean_args(args: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = _clean_json_value(args, "args", 0)
    return cleaned


CleanArgs = Annotated[dict[str, Any], AfterValidator(_clean_args)]


LOG_EXCERPT_CHARS = 2000


def log_excerpt(text: str, limit: int = LOG_EXCERPT_CHARS) -> str:
    """`text` cut to `limit` characters for a log line (an event may echo long input)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


# The board's time zone ([board] timezone); `signage-agent run` sets it before starting.
_BOARD_ZONE: dict[str, tzinfo] = {"zone": ZoneInfo("Asia/Ho_Chi_Minh")}


def set_board_zone(zone: tzinfo) -> None:
    _BOARD_ZONE["zone"] = zone


def board_time(value: datetime) -> str:
    """THE format of every outbound time (CONTRACT §3): RFC 3339 in the board's time zone
    with its offset, to the millisecond: `2026-11-27T09:00:00.000+07:00`."""
    return value.astimezone(_BOARD_ZONE["zone"]).isoformat(timespec="milliseconds")


# Outbound times: RFC 3339 with the board's offset, to the millisecond (proof of play).
Timestamp = Annotated[
    AwareDatetime,
    PlainSerializer(board_time, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


# Outbound text is bounded, whatever it quotes: a rejected payload just under the payload
# limit must not come back as an event the broker refuses (CONTRACT §3, event). Values
# are cut, never refused: an outbound message is built by the agent, not validated input.
MAX_EVENT_ERRORS = 20  # listed per event; then one "… and K more"
MAX_PATH_CHARS = 200
MAX_MESSAGE_CHARS = 300
MAX_OUTBOUND_TEXT_CHARS = 500
MAX_URL_CHARS = 2048  # the inbound limit of an image URL
MAX_RESULT_ERROR_CHARS = 1000


def truncate(limit: int) -> Any:
    """A validator that cuts text to `limit` characters, ending it with "…"."""

    def cut(value: Any) -> Any:
        if isinstance(value, str) and len(value) > limit:
            return value[: limit - 1] + "…"
        return value

    return BeforeValidator(cut)


# Outbound text of at most so many characters (cut, and said so in the schema).
PathText = Annotated[str, truncate(MAX_PATH_CHARS), Field(max_length=MAX_PATH_CHARS)]
MessageText = Annotated[str, truncate(MAX_MESSAGE_CHARS), Field(max_length=MAX_MESSAGE_CHARS)]
OutboundText = Annotated[
    str, truncate(MAX_OUTBOUND_TEXT_CHARS), Field(max_length=MAX_OUTBOUND_TEXT_CHARS)
]
UrlText = Annotated[str, truncate(MAX_URL_CHARS), Field(max_length=MAX_URL_CHARS)]
ResultErrorText = Annotated[
    str, truncate(MAX_RESULT_ERROR_CHARS), Field(max_length=MAX_RESULT_ERROR_CHARS)
]


class Inbound(BaseModel):
    # allow_inf_nan=False: every number must be finite (a NaN reaching the renderer is a
    # crash loop); `validation.decode` also refuses NaN/Infinity in free-form JSON.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Outbound(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- playlist ---------------------------------------------------------------------------


class ImageRef(Inbound):
    """An image to download into the asset cache; verified against its SHA-256."""

    url: Annotated[
        str,
        StringConstraints(
            pattern=named_pattern(r"^https?://\S+$", "an http:// or https:// URL, no spaces"),
            max_length=2048,
        ),
        AfterValidator(clean_name),
    ]
    sha256: Annotated[
        str,
        StringConstraints(
            pattern=named_pattern(r"^[0-9a-f]{64}$", "a SHA-256: 64 lower-case hex digits")
        ),
    ]


def _field_value(value: Any) -> str | ImageRef:
    # Text, a data: URI (both strings), or an image reference object. Checked by hand so
    # that an error names the slot (items.0.fields.title), not a union member.
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS and not is_data_uri(value):
            raise ValueError(f"text is {len(value)} characters; the limit is {MAX_TEXT_CHARS}")
        if not value.strip():
            raise ValueError("must not be empty")
        return clean_text(value)
    if isinstance(value, dict):
        return ImageRef.model_validate(value, strict=True)
    raise ValueError('must be text, a data: URI, or an object {"url": …, "sha256": …}')


def _validate_field_value(value: Any, _handler: ValidatorFunctionWrapHandler) -> str | ImageRef:
    # A wrap validator that never calls the union's own validation: errors name the slot,
    # while serialisation and the JSON Schema still come from `str | ImageRef`.
    return _field_value(value)


FieldValue = Annotated[str | ImageRef, WrapValidator(_validate_field_value)]
# A slot's name as sent: the same rules as every other string (it is quoted in errors).
SlotName = Annotated[str, AfterValidator(clean_name)]


class ScheduleWindow(Inbound):
    """A weekly window in the board's time zone; `to` before `from` crosses midnight."""

    model_config = ConfigDict(populate_by_name=True)

    days: Annotated[
        list[Weekday], Field(min_length=1, max_length=7, json_schema_extra={"uniqueItems": True})
    ]
    from_: Annotated[ClockTime, Field(alias="from")]
    to: ClockTime

    @field_validator("days")
    @classmethod
    def _unique_days(cls, days: list[Weekday]) -> list[Weekday]:
        if len(set(days)) != len(days):
            raise ValueError("lists a day twice")
        return days

    @field_validator("to")
    @classmethod
    def _not_empty_window(cls, to: time, info: ValidationInfo) -> time:
        if info.data.get("from_") == to:
            raise ValueError("`to` equals `from`: the window would be empty")
        return to


class PlaylistItem(Inbound):
    id: Identifier
    layout: Annotated[
        str, StringConstraints(min_length=1, max_length=64), AfterValidator(clean_name)
    ]
    fields: Annotated[dict[SlotName, FieldValue], Field(max_length=MAX_FIELDS)]
    duration_s: Annotated[int, Field(ge=1, le=MAX_DURATION_S)] = 10
    priority: Annotated[int, Field(ge=-MAX_ABS_PRIORITY, le=MAX_ABS_PRIORITY)] = 0
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    schedule: Annotated[list[ScheduleWindow], Field(min_length=1, max_length=28)] | None = None

    @field_validator("valid_until")
    @classmethod
    def _after_valid_from(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("valid_from")
        if until is not None and start is not None and until <= start:
            raise ValueError("must be later than valid_from")
        return until


class Playlist(Inbound):
    """A channel's whole current content."""

    type: Literal["playlist"]
    version: Annotated[int, Field(ge=0, le=2**53)]
    issued_at: AwareDatetime
    items: Annotated[list[PlaylistItem], Field(max_length=MAX_ITEMS)]


# --- alert ------------------------------------------------------------------------------

Severity = Literal["extreme", "severe", "moderate", "minor"]


class Alert(Inbound):
    """CAP-inspired emergency alert."""

    # Said again for schema readers: what `_text_for_shown_alerts` enforces.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"msg_type": {"const": "cancel"}}, "required": ["msg_type"]},
            "else": {
                "required": ["headline", "description"],
                "properties": {"headline": {"type": "string"}, "description": {"type": "string"}},
            },
        }
    )

    type: Literal["alert"]
    id: Identifier
    msg_type: Literal["alert", "update", "cancel"]
    status: Literal["actual", "exercise", "test"]
    sender: Annotated[
        str, StringConstraints(min_length=1, max_length=128), AfterValidator(clean_name)
    ]
    sent: AwareDatetime
    expires: AwareDatetime
    severity: Severity
    urgency: Literal["immediate", "expected", "future", "past", "unknown"]
    headline: NoticeText | None = None
    description: NoticeText | None = None
    instruction: NoticeText | None = None
    layout: Literal["alert_full", "alert_banner"] | None = None

    @field_validator("expires")
    @classmethod
    def _expires_after_sent(cls, expires: datetime, info: ValidationInfo) -> datetime:
        sent = info.data.get("sent")
        if sent is not None and expires <= sent:
            raise ValueError("must be later than sent")
        return expires

    @model_validator(mode="after")
    def _text_for_shown_alerts(self) -> Alert:
        if self.msg_type != "cancel" and (self.headline is None or self.description is None):
            raise ValueError("an alert or update needs a headline and a description")
        return self


# --- command ----------------------------------------------------------------------------


# A command is read in two steps. `Command` is the envelope: what every command must be
# (an id to answer to, a name, free-form JSON args); a malformed one is rejected. Its name
# then selects one member of `KnownCommand`, the discriminated union on `command`, whose
# typed args are checked; what they get wrong fails that command (an `ok:false` result
# naming `args.percent`, …), and an unknown name is refused. The published schema of a
# command is `KnownCommand`: every command with its arguments.


class CommandBase(BaseModel):
    """What the envelope and every member share. Not an `Inbound` model of its own: the
    members are read from an envelope already decoded (and its args cleaned), with the
    same rules."""

    model_config = Inbound.model_config

    type: Literal["command"]
    id: Identifier


class Command(Inbound, CommandBase):
    """The envelope of every command, known or not: what is decoded from the wire."""

    command: Annotated[
        str, StringConstraints(min_length=1, max_length=64), AfterValidator(clean_name)
    ]
    args: CleanArgs = Field(default_factory=dict)


def _no_arguments(value: Any) -> Any:
    if isinstance(value, dict) and value:
        raise ValueError(f"takes no arguments (got {', '.join(sorted(value))})")
    return value


class NoArgs(BaseModel):
    """The args of a command that takes none: `{}` (or none at all)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _none_given(cls, value: Any) -> Any:
        return _no_arguments(value)


class BrightnessArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    percent: Annotated[int, Field(ge=0, le=100)] = Field(description="Brightness, 0-100 %.")
    for_s: Annotated[float, Field(gt=0, le=7 * 86_400)] | None = Field(
        default=None,
        description="Seconds to keep it (at most 7 days); without it, until the brightness "
        "schedule's next step.",
    )


class PowerArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["on", "off"]


class PingCommand(CommandBase):
    """Answers with the agent's version and the board's time."""

    command: Literal["ping"]
    args: NoArgs = Field(default_factory=NoArgs)


class ScreenshotCommand(CommandBase):
    """Publishes a PNG of the frame on show to the screenshot topic, then its result."""

    command: Literal["screenshot"]
    args: NoArgs = Field(default_factory=NoArgs)


class ReloadCommand(CommandBase):
    """Reads the layouts again and redraws (what SIGHUP does)."""

    command: Literal["reload"]
    args: NoArgs = Field(default_factory=NoArgs)


class SetBrightnessCommand(CommandBase):
    """Sets the brightness, optionally for a while."""

    command: Literal["set_brightness"]
    args: BrightnessArgs


class DisplayPowerCommand(CommandBase):
    """Switches the display on or off."""

    command: Literal["display_power"]
    args: PowerArgs


class RestartCommand(CommandBase):
    """Exits with EX_TEMPFAIL (75): systemd starts the agent again."""

    command: Literal["restart"]
    args: NoArgs = Field(default_factory=NoArgs)


KnownCommand = Annotated[
    PingCommand
    | ScreenshotCommand
    | ReloadCommand
    | SetBrightnessCommand
    | DisplayPowerCommand
    | RestartCommand,
    Field(discriminator="command"),
]


class CommandResult(Outbound):
    type: Literal["command_result"] = "command_result"
    id: str
    ok: bool
    data: dict[str, Any] | None = None
    error: ResultErrorText | None = None


# --- presence ---------------------------------------------------------------------------


class Status(Outbound):
    """Retained presence on `{root}/board/{b}/status`."""

    state: Literal["online", "offline"]
    since: Timestamp | None = None
    agent_version: str | None = None
    reason: Literal["connection-lost", "shutdown"] | None = None


# --- heartbeat --------------------------------------------------------------------------


class NowShowing(Outbound):
    item_id: str
    channel: Channel | Literal["alert"]
    since: Timestamp


class ChannelContent(Outbound):
    version: int
    items: int


# Where frames go: a screen, memory (and a snapshot file), or a serial LED controller.
OutputKind = Literal["screen", "headless", "serial"]


class DisplayHealth(Outbound):
    output: OutputKind
    width: int
    height: int
    fps: float
    frames: int
    brightness: int | None
    power: Literal["on", "off"]
    # Addition: characters left out of drawn frames because no bundled font has them.
    missing_glyphs: int = 0
    # Addition: the SDL video driver drawing a `screen` (x11, wayland, KMSDRM); `offscreen`
    # or `dummy` mean nothing is visible (a display.error said so at start). null when
    # the output is not an SDL display (headless, serial).
    driver: str | None = None


class SerialHealth(Outbound):
    port: str
    protocol: str
    connected: bool
    frames_sent: int
    errors: int


class SystemHealth(Outbound):
    cpu_percent: float | None
    cpu_temp_c: float | None
    mem_percent: float | None
    disk_free_mb: int | None
    load1: float | None
    clock_synced: bool | None


class MqttHealth(Outbound):
    connected_since: Timestamp | None
    reconnects: int
    outbox: int
    # Addition: messages the bounded outbox had to drop (oldest first) since installation.
    outbox_dropped: int = 0
    # Additions (connection side, see docs/contract.md): the MQTT version in use ("5" or
    # "3.1.1"), the last connection failure or broker refusal and when, publishes and
    # subscriptions the broker denied, messages not sent because the broker cannot take
    # their size.
    protocol: Literal["5", "3.1.1"] | None = None
    last_error: str | None = None
    last_error_at: Timestamp | None = None
    denied: int = 0
    too_large: int = 0
    # Addition: messages dropped since start because they were larger than the broker takes
    # (the outbox's hard cap, or the broker's announced maximum packet size).
    outbox_oversize: int = 0
    # Addition: damaged outbox spool lines set aside at start-up (never sent).
    outbox_quarantined: int = 0
    # Addition: inbound QoS 0 messages dropped since start because more than the link's
    # backlog of them waited for the core (a flood; QoS 1 is never dropped).
    dropped_inbound: int = 0


HEARTBEAT_ALERT_IDS = 100


class Heartbeat(Outbound):
    type: Literal["heartbeat"] = "heartbeat"
    board_id: str
    seq: int
    sent_at: Timestamp
    agent_version: str
    uptime_s: int
    now_showing: NowShowing | None
    alerts_active: list[str]  # at most HEARTBEAT_ALERT_IDS of them, most severe first
    content: dict[Channel, ChannelContent | None]
    display: DisplayHealth
    serial: SerialHealth | None
    system: SystemHealth
    mqtt: MqttHealth | None
    errors_total: int
    # Addition: how many alerts are active. A heartbeat must stay small (thousands of
    # active alerts would make it larger than a broker takes): `alerts_active` lists the
    # first HEARTBEAT_ALERT_IDS ids only, and this says whether that is all of them.
    alerts_active_count: int = 0

    def state_line(self) -> str:
        """The board's state as a technician reads it in the log: logged at INFO when it
        changes (the whole heartbeat is logged at DEBUG)."""
        showing, display = self.now_showing, self.display
        shown = f"showing {showing.item_id} ({showing.channel})" if showing else "showing nothing"
        screen = f"display {display.output} {display.width}x{display.height} power {display.power}"
        if display.brightness is not None:
            screen += f" brightness {display.brightness}%"
        parts = [shown, f"alerts {', '.join(self.alerts_active) or 'none'}", screen]
        if self.serial is not None:
            parts.append("serial " + ("connected" if self.serial.connected else "not connected"))
        if self.mqtt is not None:
            parts.append("broker " + ("connected" if self.mqtt.connected_since else "offline"))
        return "; ".join(parts)


# --- events -----------------------------------------------------------------------------


class ErrorDetail(Outbound):
    """One problem with an input: where (`items.0.duration_s`; `$` is the whole payload).

    Built from any object with `path` and `message` (a `Problem`): its source and line
    stay off the wire, which names the topic instead."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    path: PathText
    message: MessageText


def summarise_errors(errors: Any) -> Any:
    """At most `MAX_EVENT_ERRORS` problems: the first ones, then "… and K more"."""
    if not isinstance(errors, list) or len(errors) <= MAX_EVENT_ERRORS:
        return errors
    more = len(errors) - (MAX_EVENT_ERRORS - 1)
    return [*errors[: MAX_EVENT_ERRORS - 1], ErrorDetail(path="$", message=f"… and {more} more")]


ErrorList = Annotated[
    list[ErrorDetail], BeforeValidator(summarise_errors), Field(max_length=MAX_EVENT_ERRORS)
]


class EventBase(Outbound):
    type: Literal["event"] = "event"
    at: Timestamp


class ContentAccepted(EventBase):
    kind: Literal["content.accepted"] = "content.accepted"
    channel: Channel
    version: int
    items: int


class ContentRejected(EventBase):
    kind: Literal["content.rejected"] = "content.rejected"
    topic: OutboundText
    channel: Channel | None
    errors: ErrorList


class ContentWarning(EventBase):
    """Addition: accepted content with something the board cannot show as sent (e.g.
    characters no bundled font has: they are left out)."""

    kind: Literal["content.warning"] = "content.warning"
    channel: Channel | Literal["alert"]
    warnings: ErrorList


class ContentIgnored(EventBase):
    kind: Literal["content.ignored"] = "content.ignored"
    channel: Channel
    version: int
    reason: OutboundText


class ContentCleared(EventBase):
    """Addition to the contract: a channel emptied by an empty retained payload."""

    kind: Literal["content.cleared"] = "content.cleared"
    channel: Channel


class PlaybackStarted(EventBase):
    kind: Literal["playback.started"] = "playback.started"
    item_id: str
    channel: Channel | Literal["alert"]
    layout: str


class AlertStarted(EventBase):
    kind: Literal["alert.started"] = "alert.started"
    alert_id: str
    severity: Severity


class AlertEnded(EventBase):
    kind: Literal["alert.ended"] = "alert.ended"
    alert_id: str
    severity: Severity
    reason: Literal["cancel", "expired", "deleted"]


class AlertUpdated(EventBase):
    """Addition: an active alert was replaced by a newer message (its text may differ)."""

    kind: Literal["alert.updated"] = "alert.updated"
    alert_id: str
    severity: Severity


class AlertIgnored(EventBase):
    """Addition: a valid alert message that changes nothing, and why (older, expired, …)."""

    kind: Literal["alert.ignored"] = "alert.ignored"
    alert_id: str
    reason: OutboundText


class AlertTest(EventBase):
    """Addition: a `status: test` alert arrived; acknowledged here, never shown."""

    kind: Literal["alert.test"] = "alert.test"
    alert_id: str
    severity: Severity


class AssetFailed(EventBase):
    kind: Literal["asset.failed"] = "asset.failed"
    item_id: str
    url: UrlText
    message: OutboundText


class SerialLinkUp(EventBase):
    kind: Literal["serial.link_up"] = "serial.link_up"
    port: OutboundText
    message: OutboundText


class SerialLinkDown(EventBase):
    kind: Literal["serial.link_down"] = "serial.link_down"
    port: OutboundText
    message: OutboundText


class StorageError(EventBase):
    """Addition to the contract: the state dir could not be written (SD card full or worn)."""

    kind: Literal["storage.error"] = "storage.error"
    message: OutboundText


class DisplayError(EventBase):
    kind: Literal["display.error"] = "display.error"
    message: OutboundText


class InputSuppressed(EventBase):
    """Addition to the contract: bad input on `topic` beyond the rate limit of
    `content.rejected` events (a flood), counted instead of reported one by one."""

    kind: Literal["input.suppressed"] = "input.suppressed"
    topic: str  # the topic, or for alerts the subscription that matched (`…/alert/city/+`)
    count: int  # rejections not reported one by one
    first_at: Timestamp
    last_at: Timestamp


Event = Annotated[
    ContentAccepted
    | ContentRejected
    | ContentIgnored
    | ContentWarning
    | ContentCleared
    | PlaybackStarted
    | AlertStarted
    | AlertEnded
    | AlertUpdated
    | AlertIgnored
    | AlertTest
    | AssetFailed
    | SerialLinkUp
    | SerialLinkDown
    | DisplayError
    | StorageError
    | InputSuppressed,
    Field(discriminator="kind"),
]
