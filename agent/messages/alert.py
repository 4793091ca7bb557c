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

Severity = Literal["extreme", "severe", "moderate", "minor"]
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
