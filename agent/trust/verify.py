"""What `signage-agent verify` and `validate --config` ask of a board's trust (CONTRACT
§7): would a board with this config accept the message, and why.

The board's decision is the gate's own (agent/trust/gate.py), with the config's roots
and the keyring the board keeps in its state dir when this machine can read it (never
moved aside here: this is a look, not the board). The topic, when given, says the kind
and the scope as the board would route it; without one, the message's own `type` says
the kind and the key's scopes are not checked (the answer says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TextIO

from agent.config import AgentConfig
from agent.health import clock_synced
from agent.messages import SignedKind
from agent.storage import StorageHealth
from agent.topics import (
    AlertTopic,
    AssignmentTopic,
    CommandTopic,
    ContentTopic,
    KeyringTopic,
    LayoutTopic,
    Topics,
)
from agent.trust.desk import TrustDesk
from agent.trust.jws import looks_like_jws, parse_jws
from agent.validation import InvalidInput, loads_or_none

EX_REFUSED = 1
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Route:
    kind: SignedKind
    scope: str | None
    scoped: bool  # the scope is known (a topic was given, or the kind has none)


def kind_of(payload: bytes) -> SignedKind:
    """What a message is by its own bytes (the inner message of a signed one)."""
    inner = payload
    if looks_like_jws(payload):
        try:
            inner = parse_jws(payload, max_bytes=MAX_MESSAGE_BYTES).payload
        except InvalidInput:
            return "playlist"  # the gate says what is wrong with it
    if inner.lstrip()[:1] == b"<":
        return "alert"  # CAP
    data = loads_or_none(inner)
    kind = data.get("type") if isinstance(data, dict) else None
    kinds: dict[object, SignedKind] = {
        "alert": "alert",
        "command": "command",
        "keyring": "keyring",
        "assignment": "assignment",
    }
    return kinds.get(kind, "playlist")


def route_of(config: AgentConfig, topic: str | None, payload: bytes) -> Route | str:
    """The kind and scope a board gives a message on `topic`; a sentence when the topic
    is not one this board takes messages on."""
    if topic is None:
        kind = kind_of(payload)
        return Route(kind, None, scoped=kind in ("command", "keyring", "assignment"))
    board = config.board
    root = config.mqtt.topic_root if config.mqtt else "signage/v1"
    topics = Topics(root, board.district, board.commune, board.id, tuple(board.groups))
    route = topics.route(topic)
    if isinstance(route, ContentTopic):
        return Route("playlist", route.channel, scoped=True)
    if isinstance(route, AlertTopic):
        return Route("alert", route.scope, scoped=True)
    if route is None:
        return f"board {board.id} takes no messages on {topic}"
    return Route(_UNSCOPED[type(route)], None, scoped=True)


# The topics whose messages have no channel or group to sign for.
_UNSCOPED: dict[type[CommandTopic | KeyringTopic | AssignmentTopic | LayoutTopic], SignedKind] = {
    CommandTopic: "command",
    KeyringTopic: "keyring",
    AssignmentTopic: "assignment",
    LayoutTopic: "layout",
}


def trust_desk(config: AgentConfig, warn: TextIO) -> TrustDesk:
    """The board's trust as far as this machine can see it: roots and kept keyring."""

    def said(message: str) -> None:
        print(f"warning: {message}", file=warn)

    desk = TrustDesk(
        config.trust,
        config.storage.state_dir,
        StorageHealth(said),
        clock_synced=clock_synced,
        max_bytes=config.content.max_payload_bytes,
    )
    if desk.keyring is not None and desk.keyring.path.exists():
        desk.keyring.load(quarantine=False)
    return desk


def decide(
    desk: TrustDesk, route: Route, payload: bytes, now: datetime
) -> tuple[Literal["accepted", "refused"], str, bytes]:
    """The board's answer, why, and the message to check further (the inner one)."""
    try:
        admitted = desk.gate.admit(route.kind, route.scope, payload, now)
    except InvalidInput as exc:
        return "refused", "; ".join(e.message for e in exc.errors), payload
    if admitted.kid is None:
        return "accepted", "unsigned (this board does not require signatures)", payload
    why = f"signed by {admitted.kid}, which may sign {route.kind}"
    if not route.scoped:
        key = desk.keyring.keys[admitted.kid] if desk.keyring else None
        scopes = "all" if key is None or key.scopes is None else ", ".join(sorted(key.scopes))
        why += f" (its scopes: {scopes}; give --topic to check them)"
    if admitted.note:
        why += f"; {admitted.note}"
    return "accepted", why, admitted.payload


def replay_problems(
    desk: TrustDesk, route: Route, why: str, inner: bytes, now: datetime
) -> list[str]:
    """A signed command past its age, as the board would refuse it."""
    from agent.messages import Command
    from agent.trust.replay import stale_command
    from agent.validation import decode

    if route.kind != "command" or not why.startswith("signed by"):
        return []
    try:
        command = decode(inner, Command, max_bytes=64 * 1024)
    except InvalidInput:
        return []  # said by the payload's own check
    stale = stale_command(command.issued_at, now, desk.command_max_age_s or 0)
    return [] if stale is None else [f"issued_at: {stale}"]
