"""What an alert says on screen: the slots of the alert layouts filled from an alert (its
label in the board's language, texts, authority, times in the board's time zone, risk
band), and its texts by field path for the glyph checks. Pure."""

from __future__ import annotations

from agent.messages import Alert, board_zone
from display_layouts import theme

# The band or header that says what kind of message this is, in the board's language.
LABELS = {
    "extreme": "KHẨN CẤP",
    "severe": "CẢNH BÁO",
    "moderate": "CẢNH BÁO",
    "minor": "LƯU Ý",
    "unknown": "CẢNH BÁO",
}
EXERCISE_LABEL = "DIỄN TẬP"


def alert_texts(alert: Alert) -> dict[str, str]:
    """The alert's texts by field path (for checks of what the board can draw)."""
    texts = {"headline": alert.headline, "description": alert.description}
    texts["instruction"] = alert.instruction
    texts["sender_name"] = alert.sender_name
    return {path: text for path, text in texts.items() if text}


def alert_fields(alert: Alert) -> dict[str, str]:
    """The slots of the alert layouts, filled from an alert: its texts, who issued it,
    when (in the board's time zone), until when, and its risk level in its colour."""
    fields = {"label": EXERCISE_LABEL if alert.status == "exercise" else LABELS[alert.severity]}
    for name in ("headline", "description", "instruction"):
        value = getattr(alert, name)
        if value:
            fields[name] = value
    if alert.sender_name:
        fields["authority"] = alert.sender_name
    zone = board_zone()
    fields["issued"] = f"Phát lúc {alert.sent.astimezone(zone):%H:%M %d/%m/%Y}"
    fields["expires"] = f"Hết hiệu lực {alert.expires.astimezone(zone):%H:%M %d/%m}"
    if alert.risk_level is not None:
        fields["risk"] = f"CẤP ĐỘ RỦI RO {alert.risk_level}"
        fields["risk_color"], fields["risk_ink"] = theme.risk_band(alert.risk_level)
    return fields
