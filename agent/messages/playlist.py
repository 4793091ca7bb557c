"""The playlist (CONTRACT §3): a content channel's whole current content, its items,
their slots (text, data: URIs, image references) and weekly schedule windows."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)

from agent.messages.base import ClockTime, Identifier, Inbound
from agent.messages.text import MAX_TEXT_CHARS, clean_name, clean_text
from display_layouts.image_formats import is_data_uri
from display_layouts.input_problems import named_pattern

# Limits against absurd input; generous for real notices.
MAX_ITEMS = 200
MAX_FIELDS = 16
MAX_DURATION_S = 86_400
MAX_ABS_PRIORITY = 1000

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


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

    @property
    def asset_name(self) -> str:
        """Its name in the asset cache: the SHA-256 it is verified against."""
        return self.sha256


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

    model_config = ConfigDict(populate_by_name=True, defer_build=True)

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
