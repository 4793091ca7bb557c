"""Every payload of the contract (CONTRACT §3) as pydantic models.

One source: the agent validates inbound bytes with these models, builds outbound
payloads with them, and `signage-agent schema` prints their JSON Schemas.

Inbound models are strict (`extra="forbid"`, JSON types as written: a version sent as
the string "17" is an error, not 17) because a typo must not pass silently.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
    field_validator,
    model_validator,
)

# Limits against absurd input; generous for real notices.
MAX_TEXT_CHARS = 4000
MAX_ITEMS = 200
MAX_FIELDS = 16
MAX_DURATION_S = 86_400
MAX_ABS_PRIORITY = 1000

Channel = Literal["city", "district", "commune", "board", "local"]
CHANNELS: tuple[Channel, ...] = ("city", "district", "commune", "board", "local")
BROKER_CHANNELS: tuple[Channel, ...] = ("city", "district", "commune", "board")

Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", max_length=64)
]
# Ids chosen by the city's systems (items, alerts, commands).
Identifier = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", min_length=1, max_length=128)
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


def clean_text(value: str) -> str:
    """NFC-normalise and refuse control characters (NUL, escape codes); keep newlines and tabs."""
    text = unicodedata.normalize("NFC", value)
    for index, char in enumerate(text):
        if unicodedata.category(char) == "Cc" and char not in "\n\t":
            raise ValueError(f"contains control character U+{ord(char):04X} at position {index}")
    return text


NoticeText = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS), AfterValidator(clean_text)
]


def _rfc3339_ms(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds")


# Outbound times: RFC 3339 with the board's offset, to the millisecond (proof of play).
Timestamp = Annotated[
    AwareDatetime,
    PlainSerializer(_rfc3339_ms, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Inbound(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Outbound(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- playlist ---------------------------------------------------------------------------


class ImageRef(Inbound):
    """An image to download into the asset cache; verified against its SHA-256."""

    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2048)]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def _field_value(value: Any) -> str | ImageRef:
    # Text, a data: URI (both strings), or an image reference object. Checked by hand so
    # that an error names the slot (items.0.fields.title), not a union member.
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS and not value.startswith("data:"):
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
    def _not_empty_window(cls, to: str, info: ValidationInfo) -> str:
        if info.data.get("from_") == to:
            raise ValueError("`to` equals `from`: the window would be empty")
        return to


class PlaylistItem(Inbound):
    id: Identifier
    layout: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    fields: Annotated[dict[str, FieldValue], Field(max_length=MAX_FIELDS)]
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
    sender: Annotated[str, StringConstraints(min_length=1, max_length=128)]
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


class Command(Inbound):
    type: Literal["command"]
    id: Identifier
    command: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    args: dict[str, Any] = Field(default_factory=dict)


class CommandResult(Outbound):
    type: Literal["command_result"] = "command_result"
    id: str
    ok: bool
    data: dict[str, Any] | None = None
    error: str | None = None


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


class DisplayHealth(Outbound):
    output: Literal["screen", "headless", "serial"]
    width: int
    height: int
    fps: float
    frames: int
    brightness: int | None
    power: Literal["on", "off"]
    # Addition: characters left out of drawn frames because no bundled font has them.
    missing_glyphs: int = 0


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


# --- events -----------------------------------------------------------------------------


class ErrorDetail(Outbound):
    """One problem with an input: where (`items.0.duration_s`; `$` is the whole payload)."""

    path: str
    message: str


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
    topic: str
    channel: Channel | None
    errors: list[ErrorDetail]


class ContentWarning(EventBase):
    """Addition: accepted content with something the board cannot show as sent (e.g.
    characters no bundled font has: they are left out)."""

    kind: Literal["content.warning"] = "content.warning"
    channel: Channel | Literal["alert"]
    warnings: list[ErrorDetail]


class ContentIgnored(EventBase):
    kind: Literal["content.ignored"] = "content.ignored"
    channel: Channel
    version: int
    reason: str


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
    reason: str


class AlertTest(EventBase):
    """Addition: a `status: test` alert arrived; acknowledged here, never shown."""

    kind: Literal["alert.test"] = "alert.test"
    alert_id: str
    severity: Severity


class AssetFailed(EventBase):
    kind: Literal["asset.failed"] = "asset.failed"
    item_id: str
    url: str
    message: str


class SerialLinkUp(EventBase):
    kind: Literal["serial.link_up"] = "serial.link_up"
    port: str
    message: str


class SerialLinkDown(EventBase):
    kind: Literal["serial.link_down"] = "serial.link_down"
    port: str
    message: str


class StorageError(EventBase):
    """Addition to the contract: the state dir could not be written (SD card full or worn)."""

    kind: Literal["storage.error"] = "storage.error"
    message: str


class DisplayError(EventBase):
    kind: Literal["display.error"] = "display.error"
    message: str


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
