"""The emergency alert (CONTRACT §3), CAP-inspired; its severity is also what alert
events report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from agent.messages.base import Identifier, Inbound
from agent.messages.text import NoticeText, clean_name
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
