"""The emergency alert (CONTRACT §3), CAP-inspired; its severity is also what alert
events report."""

from __future__ import annotations

from datetime import datetime
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
    model_validator,
)

from agent.messages.base import Identifier, Inbound
from agent.messages.playlist import ImageRef
from agent.messages.text import NoticeText, clean_name
from display_layouts.image_formats import is_data_uri
from display_layouts.input_problems import named_pattern

# "unknown": CAP's `Unknown` (CONTRACT §6), shown as a banner unless it is immediate.
Severity = Literal["extreme", "severe", "moderate", "minor", "unknown"]
# One CAP message as `<references>` names it: a digest of "sender,identifier" (its `sent`
# is not part of the key: CAP makes an identifier unique for its sender), of fixed size
# whatever the lengths CAP allows.
MESSAGE_KEY_PATTERN = named_pattern(r"^[0-9a-f]{32}$", "32 lower-case hexadecimal digits")
MessageKey = Annotated[str, StringConstraints(pattern=MESSAGE_KEY_PATTERN)]
MAX_MESSAGE_KEYS = 64
# Vietnam's disaster risk level (cấp độ rủi ro thiên tai, Decision 18/2021/QĐ-TTg).
RiskLevel = Annotated[int, Field(ge=1, le=5)]


# An inline picture (a `data:` URI, CAP's derefUri): bounded like a playlist's (512 KiB
# of image, base64), whether it decodes is checked once by the alert desk.
MAX_IMAGE_URI_CHARS = 700_000
_URL = Annotated[
    str,
    StringConstraints(
        pattern=named_pattern(r"^https?://\S+$", "an http:// or https:// URL, no spaces"),
        max_length=2048,
    ),
    AfterValidator(clean_name),
]


class Sha1ImageRef(Inbound):
    """A picture named as CAP 1.2 names a `<resource>`: its `<uri>` and the SHA-1 of its
    bytes (`<digest>`); downloaded into the asset cache and verified against that SHA-1."""

    url: _URL
    sha1: Annotated[
        str,
        StringConstraints(
            pattern=named_pattern(r"^[0-9a-f]{40}$", "a SHA-1: 40 lower-case hex digits")
        ),
    ]

    @property
    def asset_name(self) -> str:
        return f"sha1-{self.sha1}"


AlertImageRef = ImageRef | Sha1ImageRef


def _image_value(value: Any) -> str | AlertImageRef:
    # Checked by hand, as a playlist's slot is: an error names `image`, not a union member.
    if isinstance(value, str):
        if not is_data_uri(value):
            raise ValueError("must be a data:image/…;base64,… URI or an image reference")
        if len(value) > MAX_IMAGE_URI_CHARS:
            raise ValueError(f"is {len(value)} characters; the limit is {MAX_IMAGE_URI_CHARS}")
        return value
    if isinstance(value, dict) and "sha1" in value:
        return Sha1ImageRef.model_validate(value, strict=True)
    if isinstance(value, dict):
        return ImageRef.model_validate(value, strict=True)
    if isinstance(value, ImageRef | Sha1ImageRef):
        return value
    raise ValueError('must be a data: URI, {"url": …, "sha256": …} or {"url": …, "sha1": …}')


def _validate_image(value: Any, _handler: ValidatorFunctionWrapHandler) -> str | AlertImageRef:
    return _image_value(value)


AlertImage = Annotated[str | ImageRef | Sha1ImageRef, WrapValidator(_validate_image)]


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
    sender_name: NoticeText | None = Field(
        None, description="The issuing authority, as shown on screen (CAP senderName)."
    )
    sent: AwareDatetime
    expires: AwareDatetime
    severity: Severity
    urgency: Literal["immediate", "expected", "future", "past", "unknown"]
    headline: NoticeText | None = None
    description: NoticeText | None = None
    instruction: NoticeText | None = None
    risk_level: RiskLevel | None = Field(
        None,
        description="Disaster risk level 1-5 (Decision 18/2021/QĐ-TTg), shown in its "
        "official colour: 1 light blue, 2 light yellow, 3 orange, 4 red, 5 purple.",
    )
    layout: Literal["alert_full", "alert_banner"] | None = None
    image: AlertImage | None = Field(
        None,
        description="A picture shown beside the text on the full screen (CAP <resource>): "
        "a data:image/…;base64 URI, or a downloaded image by SHA-256 or SHA-1. One that "
        "cannot be shown is reported once; the alert shows without it.",
    )
    # Set by the board for an alert that came as CAP (CONTRACT §6): `id` is the incident
    # (the identifier of its first message), `message_id` the message in force, and
    # `message_keys` every message known to belong to the incident, so that an Update or
    # a Cancel still finds it after a restart.
    message_id: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    message_keys: Annotated[list[MessageKey], Field(max_length=MAX_MESSAGE_KEYS)] = Field(
        default_factory=list
    )

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
