"""The message `signage-fleet publish` sends, checked by the agent's own validators (the
ones a board decodes with: agent.validation `decode` on agent.messages' models, agent.content
`parse_playlist`, agent.cap `parse_cap`, display_layouts' `parse_layout`) before a byte
leaves: what a board would refuse is never published.

Each `read_*` returns a `Message` or raises `InvalidInput` (every problem, with its path);
nothing here touches the broker.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from agent.alert_kind import looks_like_cap
from agent.messages import Alert, Assignment, Command, Keyring
from agent.validation import DEFAULT_MAX_PAYLOAD_BYTES, InvalidInput, decode, error, parse_json

if TYPE_CHECKING:
    from agent.cap import CapMessage
    from display_layouts.spec import LayoutSpec

# What a board takes by default ([mqtt] max_payload_bytes: 1 MiB), and an alert's own
# bound (agent/alert_desk.py): larger is refused here rather than by every board.
MAX_PAYLOAD_BYTES: Final = DEFAULT_MAX_PAYLOAD_BYTES
ALERT_MAX_BYTES: Final = 64 * 1024
# A cancel keeps the alert's `expires` unless that is past: then it holds this long (a
# retained cancel must still be a valid alert for a board that connects later).
CANCEL_HOLD: Final = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Message:
    """A valid message, ready to be signed and published."""

    kind: str  # playlist, alert, layout, assignment, command, keyring
    what: str  # what it is, in words, for the output line
    payload: bytes
    version: int | None = None  # playlist, assignment, keyring
    alert_id: str | None = None  # the alert topic's last level
    layout_name: str | None = None
    command_id: str | None = None


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = parse_json(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidInput([error("$", f"not UTF-8: invalid byte at offset {exc.start}")]) from None
    if not isinstance(data, dict):
        raise InvalidInput([error("$", "expected a JSON object")])
    return data


def _dumps(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def read_playlist(raw: bytes, layouts: Mapping[str, LayoutSpec]) -> Message:
    from agent.content import parse_playlist

    playlist = parse_playlist(raw, layouts=layouts, max_bytes=MAX_PAYLOAD_BYTES)
    what = f"playlist version {playlist.version}, {len(playlist.items)} items"
    return Message("playlist", what, raw, version=playlist.version)


def read_alert(raw: bytes) -> Message:
    """A JSON alert or a CAP 1.2 document, told apart by content as a board does. A CAP
    Update or Cancel goes to the topic of its incident (the earliest message it names), so
    that its retained copy replaces the alert it supersedes."""
    if looks_like_cap(raw):
        from agent.alert_cap import incident_keys
        from agent.cap import parse_cap

        message = parse_cap(raw)
        _own, incident, _refs = incident_keys(message)
        what = f"CAP {message.msg_type} {message.identifier} ({message.status})"
        return Message("alert", what, raw, alert_id=incident)
    if len(raw) > ALERT_MAX_BYTES:
        raise InvalidInput([error("$", f"{len(raw)} bytes; an alert is at most {ALERT_MAX_BYTES}")])
    alert = decode(raw, Alert, max_bytes=ALERT_MAX_BYTES)
    what = f"alert {alert.id} ({alert.msg_type}, {alert.severity}, {alert.status})"
    return Message("alert", what, raw, alert_id=alert.id)


def read_cancel(raw: bytes) -> Message:
    """The cancel of the alert in `raw`: a JSON alert again with `msg_type` cancel and a
    new `sent`; a CAP document answered by a new Cancel message that references it (and
    what it referenced). An alert that is a cancel already is sent as it is."""
    original = read_alert(raw)
    if looks_like_cap(raw):
        from agent.cap import parse_cap

        message = parse_cap(raw)
        if message.msg_type == "Cancel":
            return replace(original, kind="alert")
        cancel = cap_cancel(message)
        parse_cap(cancel)  # what we wrote is what a board reads
        what = f"CAP Cancel of {message.identifier}"
        return Message("alert", what, cancel, alert_id=original.alert_id)
    data = _json_object(raw)
    if data.get("msg_type") == "cancel":
        return original
    # Never before the original: a board ignores a message older than the one it holds,
    # and an alert written this very second has a finer `sent` than our whole seconds.
    # At an equal `sent` the cancel outranks the alert (CONTRACT §2).
    held = decode(raw, Alert, max_bytes=ALERT_MAX_BYTES)
    sent = max(_now(), held.sent.astimezone(UTC))
    expires = datetime.fromisoformat(str(data["expires"]))
    data.update(msg_type="cancel", sent=sent.isoformat())
    if expires <= sent:
        data["expires"] = (sent + CANCEL_HOLD).isoformat()
    payload = _dumps(data)
    alert = decode(payload, Alert, max_bytes=ALERT_MAX_BYTES)
    return Message("alert", f"cancel of alert {alert.id}", payload, alert_id=alert.id)


def _cap_time(value: datetime) -> str:
    # CAP 1.2 §3.3.2: seconds, an explicit offset; UTC written as -00:00 is also valid.
    return value.isoformat(timespec="seconds")


def cap_cancel(message: CapMessage) -> bytes:
    """A CAP 1.2 Cancel of `message`: new identifier, now as `sent`, the same sender,
    status and scope, referencing `message` and every message it referenced."""
    from xml.etree import ElementTree as ET

    ns = "urn:oasis:names:tc:emergency:cap:1.2"
    sent = max(_now(), message.sent.astimezone(UTC))  # never older: see read_cancel
    root = ET.Element(f"{{{ns}}}alert")

    def child(name: str, text: str) -> None:
        ET.SubElement(root, f"{{{ns}}}{name}").text = text

    child("identifier", f"{message.identifier}-cancel-{sent:%Y%m%dT%H%M%SZ}"[:200])
    child("sender", message.sender)
    child("sent", _cap_time(sent))
    child("status", message.status)
    child("msgType", "Cancel")
    child("scope", message.scope)
    if message.restriction:
        child("restriction", message.restriction)
    if message.addresses:
        child("addresses", message.addresses)
    named = [*message.references, (message.sender, message.identifier, message.sent)]
    child("references", " ".join(f"{s},{i},{_cap_time(t)}" for s, i, t in named))
    ET.register_namespace("", ns)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def read_layout(raw: bytes, source: str) -> Message:
    from display_layouts.loader import MAX_FILE_BYTES, parse_layout
    from display_layouts.problems import LayoutError

    if len(raw) > MAX_FILE_BYTES:
        raise InvalidInput([error("$", f"{len(raw)} bytes: a layout is at most {MAX_FILE_BYTES}")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput([error("$", f"not UTF-8 text (at byte {exc.start})")]) from None
    try:
        layout = parse_layout(text, "")  # no stem: the file's `name:` is the topic's level
    except LayoutError as exc:
        raise InvalidInput(list(exc.errors)) from None
    problems = []
    if layout.override:
        problems.append(error("override", "a layout sent over MQTT cannot replace one"))
    from display_layouts.library import builtin_library

    if layout.name in builtin_library():
        problems.append(error("name", f"'{layout.name}' is a built-in layout; choose another name"))
    if problems:
        raise InvalidInput(problems)
    slots = ", ".join(s.name if s.required else f"{s.name}?" for s in layout.spec.slots)
    return Message(
        "layout", f"layout {layout.name} (slots: {slots or 'none'})", raw, layout_name=layout.name
    )


def read_assignment(raw: bytes) -> Message:
    assignment = decode(raw, Assignment, max_bytes=MAX_PAYLOAD_BYTES)
    what = (
        f"assignment version {assignment.version}, groups {', '.join(assignment.groups) or 'none'}"
    )
    return Message("assignment", what, raw, version=assignment.version)


def read_command(raw: bytes) -> Message:
    """A command, its `id` (a new UUID) and `issued_at` (now) filled in when absent; its
    arguments checked as the board's runner checks them (a typo fails here, not there)."""
    from agent.commands import CommandFailed, typed_command

    data = _json_object(raw)
    if data.get("type") == "command":
        data.setdefault("id", str(uuid.uuid4()))
        data.setdefault("issued_at", _now().isoformat())
    payload = _dumps(data)
    command = decode(payload, Command, max_bytes=MAX_PAYLOAD_BYTES)
    try:
        typed_command(command)
    except CommandFailed as exc:
        raise InvalidInput([error("$", f"command {command.command}: {exc}")]) from None
    return Message(
        "command", f"command {command.command} id {command.id}", payload, command_id=command.id
    )


def read_keyring(raw: bytes) -> Message:
    keyring = decode(raw, Keyring, max_bytes=MAX_PAYLOAD_BYTES)
    keys, revoked = len(keyring.keys), len(keyring.revoked)
    what = f"keyring version {keyring.version}, {keys} keys, {revoked} revoked"
    return Message("keyring", what, raw, version=keyring.version)


def with_version(message: Message, version: int) -> bytes:
    """The message's JSON with `version` replaced (for --bump); validated again by the caller."""
    data = _json_object(message.payload)
    data["version"] = version
    return _dumps(data)


def held_version(payload: bytes) -> int | None:
    """The `version` of a retained message (a JWS's inner message), or None."""
    from agent.trust.jws import looks_like_jws, parse_jws

    try:
        if looks_like_jws(payload):
            payload = parse_jws(payload, max_bytes=MAX_PAYLOAD_BYTES * 2).payload
        data = _json_object(payload)
    except InvalidInput:
        return None
    version = data.get("version")
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def loads_object_or_none(payload: bytes) -> dict[str, Any] | None:
    """The strict JSON object in `payload`, or None (a best-effort look, e.g. at a result)."""
    from agent.validation import loads_or_none

    data = loads_or_none(payload)
    return data if isinstance(data, dict) else None
