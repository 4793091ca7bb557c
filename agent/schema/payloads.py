"""JSON Schemas of every payload: the table of payloads (kind, name, model, direction,
prose) and the schemas generated from the pydantic models in `agent.messages`, as the
agent validates inbound payloads and sends outbound ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, TypeAdapter

from agent.messages import (
    Alert,
    Assignment,
    CommandResult,
    Event,
    Heartbeat,
    Keyring,
    KnownCommand,
    Playlist,
    Status,
)

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE_URI: Final = "https://signage-agent.example/schemas/"

Direction = Literal["inbound", "outbound"]


@dataclass(frozen=True, slots=True)
class Payload:
    kind: str  # key of json_schemas(), file name of its $id, `signage-agent schema KIND`
    name: str  # title, and the schema's name under components.schemas in AsyncAPI
    target: type[BaseModel] | TypeAdapter[Any]
    direction: Direction
    description: str


PAYLOADS: Final[tuple[Payload, ...]] = (
    Payload(
        "playlist",
        "Playlist",
        Playlist,
        "inbound",
        "A content channel's whole current content (retained on the channel's topic). "
        "A version not greater than the one held for the channel is ignored; an empty "
        "`items` list clears the channel. The agent also checks what a schema cannot: "
        "known layout, required slots, usable images, unique item ids, "
        "valid_until after valid_from.",
    ),
    Payload(
        "alert",
        "Alert",
        Alert,
        "inbound",
        "A CAP-inspired emergency alert (retained on {root}/alert/<scope>/<id>, <id> = the "
        "alert's id). `extreme`/`severe` fill the screen, `moderate`/`minor` show as a band. "
        "`expires` must be later than `sent`.",
    ),
    Payload(
        "command",
        "Command",
        TypeAdapter[Any](KnownCommand),
        "inbound",
        "A command to one board: ping, screenshot, reload, set_brightness "
        "(args.percent 0-100, optional args.for_s), display_power (args.state on/off), "
        "restart; `command` selects the member, and so the `args` it takes. A command id "
        "runs at most once. An unknown command gets an `ok:false` result naming the known "
        "ones; args that do not fit get one naming the path (`args.percent`).",
    ),
    Payload(
        "keyring",
        "Keyring",
        Keyring,
        "inbound",
        "The keys the city's boards trust besides the roots in their config (CONTRACT §7), "
        "retained on {root}/trust as a JWS signed by a key that may sign `keyring`. A "
        "higher version replaces the keys the last one brought; `revoked` kids are refused "
        "from then on. A keyring can neither replace nor revoke a root.",
    ),
    Payload(
        "assignment",
        "Assignment",
        Assignment,
        "inbound",
        "Where a board belongs (CONTRACT §8), retained on {root}/board/{b}/assignment: its "
        "groups (channels group:{g}), and optionally its area codes, location ([lat, lon]) "
        "and name, replacing the config's. A version not greater than the one held is "
        "ignored (assignment.ignored); signed when the board requires signatures.",
    ),
    Payload(
        "command_result",
        "CommandResult",
        CommandResult,
        "outbound",
        "The result of a command: `ok` true with `data`, or `ok` false with `error`.",
    ),
    Payload(
        "heartbeat",
        "Heartbeat",
        Heartbeat,
        "outbound",
        "Periodic health report ([health] heartbeat_interval_s, default 30 s). `seq` grows by "
        "one per heartbeat, also across restarts; a gap means lost heartbeats or a crash.",
    ),
    Payload(
        "event",
        "Event",
        TypeAdapter[Any](Event),
        "outbound",
        "Something that happened on the board; `kind` selects the details. Proof of play "
        "is `playback.started`.",
    ),
    Payload(
        "status",
        "Status",
        Status,
        "outbound",
        "Retained presence: online (with since, agent_version) after each connect; offline "
        "with reason `shutdown` on a clean stop, or `connection-lost` (the MQTT Last Will).",
    ),
)

PAYLOAD_KINDS: Final[tuple[str, ...]] = tuple(p.kind for p in PAYLOADS)


def _object_schemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The top-level schema and each of its $defs (where pydantic puts every model)."""
    defs: dict[str, dict[str, Any]] = schema.get("$defs", {})
    return [schema, *defs.values()]


def _require_constants(schema: dict[str, Any]) -> None:
    # Outbound `type` and `kind` have defaults, so pydantic lists them as optional, but
    # the agent always sends them: a consumer may rely on them being there.
    for obj in _object_schemas(schema):
        properties: dict[str, Any] = obj.get("properties", {})
        constants = [name for name, prop in properties.items() if "const" in prop]
        required: list[str] = obj.get("required", [])
        if constants:
            obj["required"] = [*constants, *(n for n in required if n not in constants)]


def _payload_schema(payload: Payload) -> dict[str, Any]:
    mode: Literal["validation", "serialization"] = (
        "validation" if payload.direction == "inbound" else "serialization"
    )
    if isinstance(payload.target, TypeAdapter):
        generated = payload.target.json_schema(mode=mode)
    else:
        generated = payload.target.model_json_schema(mode=mode)
    if payload.direction == "outbound":
        _require_constants(generated)
    generated.pop("title", None)
    generated.pop("description", None)
    defs = generated.pop("$defs", None)
    schema: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{SCHEMA_BASE_URI}{payload.kind}.json",
        "title": payload.name,
        "description": payload.description,
        "x-direction": payload.direction,
        **generated,
    }
    if defs:
        schema["$defs"] = defs
    return schema


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (draft 2020-12) of every payload, by kind (see `PAYLOAD_KINDS`).

    Inbound payloads (playlist, alert, command) are described as the agent validates
    them; outbound ones (command_result, heartbeat, event, status) as it sends them.
    """
    return {payload.kind: _payload_schema(payload) for payload in PAYLOADS}
