"""CAP 1.2 messages as the board's alerts (CONTRACT §6).

agent/cap parses and targets; this module decides what a valid CAP message means for
this board and builds the internal `Alert` the alert book keeps: `id` is the incident
(the identifier of its first message), `message_id` the message in force. Imported only
when the first CAP payload arrives (agent/alert_desk.py), with agent/cap behind it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from agent.cap import CapMessage, Info, LatLon, parse_cap, risk_level, target_message
from agent.cap.model import Resource
from agent.messages import Alert, Sha1ImageRef, is_identifier
from agent.messages.alert import MAX_MESSAGE_KEYS
from agent.messages.text import MAX_TEXT_CHARS
from display_layouts.input_problems import Problem, Problems, printable

__all__ = [
    "CapDecision",
    "CapSettings",
    "Shown",
    "Skip",
    "decide",
    "incident_keys",
    "parse_cap",
]

# Where each field of the internal alert comes from, for errors that name CAP's element.
_CAP_PATHS = {
    "id": "alert/identifier",
    "message_id": "alert/identifier",
    "sender": "alert/sender",
    "sent": "alert/sent",
    "expires": "alert/info/expires",
    "headline": "alert/info/headline",
    "description": "alert/info/description",
    "instruction": "alert/info/instruction",
    "sender_name": "alert/info/senderName",
    "image": "alert/info/resource",
}
_NEVER_SHOWN = {"System": "a System message is never shown", "Draft": "a Draft is never shown"}


@dataclass(frozen=True, slots=True)
class CapSettings:
    """What the board checks a CAP message against ([board] and [alerts])."""

    language: str
    area_codes: frozenset[str]
    location: tuple[float, float] | None  # (lat, lon)
    default_expiry: timedelta


@dataclass(frozen=True, slots=True)
class Shown:
    """The alert a message means for this board, and what of it cannot be shown (a
    `<resource>` picture the board cannot use: the alert shows without it)."""

    alert: Alert
    warnings: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class Skip:
    """A valid message this board does not act on, and why (said as `alert.ignored`)."""

    reason: str


CapDecision = Shown | Skip


def message_key(sender: str, identifier: str) -> str:
    """One CAP message, as `<references>` names it (fixed size, whatever CAP allows)."""
    return hashlib.blake2b(f"{sender},{identifier}".encode(), digest_size=16).hexdigest()


def incident_keys(message: CapMessage) -> tuple[str, str, list[str]]:
    """(the message's own key, the incident it starts if none is known, the keys of the
    messages it references). A message that references messages the board never saw
    starts tracking the earliest of them: events name an incident by its first message."""
    own = message_key(message.sender, message.identifier)
    references = sorted(message.references, key=lambda reference: reference.sent)
    first = references[0].identifier if references else message.identifier
    return own, first, [message_key(r.sender, r.identifier) for r in references]


def decide(
    message: CapMessage,
    incident_id: str,
    keys: Iterable[str],
    held: Alert | None,
    settings: CapSettings,
) -> CapDecision:
    """The internal alert for a valid CAP message of `incident_id` (the active alert of
    that incident is `held`), or why the board does not act on it; raises `Problems`
    when the message cannot be one of this board's alerts."""
    if message.status in _NEVER_SHOWN:
        return Skip(_NEVER_SHOWN[message.status])
    if message.msg_type in ("Ack", "Error"):
        return Skip(f"an {message.msg_type} message answers another; it is not shown")
    if not is_identifier(incident_id):
        raise Problems(
            [
                Problem(
                    "alert/identifier" if incident_id == message.identifier else "alert/references",
                    f"'{printable(incident_id, 80)}' cannot name an alert on this board "
                    "(letters, digits and . _ : - only, at most 128)",
                )
            ]
        )
    known = [*(held.message_keys if held else ()), *keys]
    base: dict[str, Any] = {
        "type": "alert",
        "id": incident_id,
        "status": message.status.lower(),
        "sender": message.sender,
        "sent": message.sent,
        "message_id": message.identifier,
        "message_keys": list(dict.fromkeys(known))[-MAX_MESSAGE_KEYS:],
    }
    if message.msg_type == "Cancel":
        # A Cancel ends what it references wherever its areas are (CAP 1.2 §3.2.1).
        info = message.infos[0] if message.infos else None
        severity = held.severity if held else info.severity.lower() if info else "unknown"
        return _shown(
            base,
            msg_type="cancel",
            severity=severity,
            urgency="past",
            expires=message.sent + settings.default_expiry,
        )
    location = LatLon(*settings.location) if settings.location else None
    targeting = target_message(message, settings.language, settings.area_codes, location)
    if targeting.info is None:
        reason = "outside its areas" if message.infos else "it has no <info> to show"
        if held is not None:  # an update that no longer covers the board ends it here
            return _shown(
                base,
                msg_type="cancel",
                severity=held.severity,
                urgency="past",
                expires=message.sent + settings.default_expiry,
            )
        return Skip(reason)
    image, warnings = picture(targeting.info.resources)
    alert = _build(base, image=image, **_shown_fields(message, targeting.info, settings))
    return Shown(alert, warnings)


def picture(resources: Iterable[Resource]) -> tuple[str | Sha1ImageRef | None, tuple[Problem, ...]]:
    """The picture shown beside the text: the first `image/…` `<resource>`, inline
    (`derefUri`, as a data: URI: whether it decodes is the desk's check, as for a JSON
    alert) or downloaded (`uri` and its SHA-1 `<digest>`). One that can never be fetched
    is left out, with why."""
    for index, resource in enumerate(resources):
        if not resource.mime_type.startswith("image/"):
            continue  # audio, a PDF…: not for a screen
        path = f"alert/info/resource[{index}]"
        if resource.content is not None:
            encoded = base64.b64encode(resource.content).decode("ascii")
            return f"data:{resource.mime_type};base64,{encoded}", ()
        if resource.uri is None:
            return None, (Problem(f"{path}/uri", "an image resource with no uri or derefUri"),)
        if resource.digest is None:
            why = "has no <digest>: the board shows only a picture it can verify"
            return None, (Problem(f"{path}/digest", why),)
        try:
            return Sha1ImageRef(url=resource.uri, sha1=resource.digest), ()
        except ValidationError as exc:
            why = printable(exc.errors()[0]["msg"], 200)
            return None, (Problem(f"{path}/uri", f"the picture is not fetched: {why}"),)
    return None, ()


def _shown(base: dict[str, Any], **fields: Any) -> Shown:
    return Shown(_build(base, **fields))


def _shown_fields(message: CapMessage, info: Info, settings: CapSettings) -> dict[str, Any]:
    headline = info.headline or info.event
    return {
        "msg_type": "alert" if message.msg_type == "Alert" else "update",
        "severity": info.severity.lower(),
        "urgency": info.urgency.lower(),
        "expires": info.expires or message.sent + settings.default_expiry,
        "headline": _fitting(headline),
        "description": _fitting(info.description or headline),
        "instruction": _fitting(info.instruction),
        "risk_level": risk_level(info),
        "sender_name": _fitting(info.sender_name),
    }


def _fitting(text: str | None) -> str | None:
    """A text the board's alert can hold: CAP allows a longer description than a screen."""
    if not text or len(text) <= MAX_TEXT_CHARS:
        return text
    return text[: MAX_TEXT_CHARS - 1] + "…"


def _build(base: dict[str, Any], **fields: Any) -> Alert:
    try:
        return Alert.model_validate({**base, **fields})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            path = _CAP_PATHS.get(field, "alert")
            problems.append(Problem(path, printable(error["msg"], 200)))
        raise Problems(problems) from None
