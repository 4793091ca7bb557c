"""The AsyncAPI 3.0 document of every topic a board subscribes and publishes to: the
channels and operations from the topic table in `agent.topics`, the payload schemas
from `agent.schema.payloads` (their `$defs` become components)."""

from __future__ import annotations

import copy
from typing import Any, Final

import agent
from agent.schema.payloads import PAYLOADS, json_schemas
from agent.topics import TOPIC_TABLE, MessageKind, row_for

ASYNCAPI_VERSION: Final = "3.0.0"
MQTT_BINDING_VERSION: Final = "0.2.0"
DEFAULT_TOPIC_ROOT: Final = "signage/v1"

# Keywords whose value is a schema, a list of schemas, or a name -> schema map.
_SUBSCHEMA_KEYS: Final = frozenset(
    {
        "items",
        "additionalProperties",
        "unevaluatedProperties",
        "unevaluatedItems",
        "propertyNames",
        "contains",
        "not",
        "if",
        "then",
        "else",
    }
)
_SUBSCHEMA_LIST_KEYS: Final = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SUBSCHEMA_MAP_KEYS: Final = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)


def _agent_version() -> str:
    # agent/__init__.py is the one place the version is written (see pyproject.toml).
    return agent.__version__


def _relocate(schema: Any, prefix: str) -> Any:
    """A copy of `schema` with `#/$defs/X` references pointing at `prefix + X`.

    OpenAPI-style `discriminator` objects are dropped: AsyncAPI's `discriminator` is a
    plain property name with other semantics, and `oneOf` over `const` kinds says it all.
    """
    if isinstance(schema, list):
        return [_relocate(item, prefix) for item in schema]
    if not isinstance(schema, dict):
        return schema
    moved: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
            moved[key] = prefix + value.removeprefix("#/$defs/")
        elif key == "discriminator" and isinstance(value, dict):
            continue
        elif key in _SUBSCHEMA_KEYS or key in _SUBSCHEMA_LIST_KEYS:
            moved[key] = _relocate(value, prefix)
        elif key in _SUBSCHEMA_MAP_KEYS and isinstance(value, dict):
            moved[key] = {name: _relocate(sub, prefix) for name, sub in value.items()}
        else:
            moved[key] = copy.deepcopy(value)  # a value (const, enum, default, examples)
    return moved


def _component_schemas() -> dict[str, dict[str, Any]]:
    prefix = "#/components/schemas/"
    components: dict[str, dict[str, Any]] = {}
    schemas = json_schemas()
    for payload in PAYLOADS:
        schema = dict(schemas[payload.kind])
        defs: dict[str, Any] = schema.pop("$defs", {})
        for key in ("$schema", "$id"):  # an $id inside would re-base every $ref below it
            schema.pop(key)
        named = {payload.name: schema, **defs}
        for name, sub in named.items():
            moved = _relocate(sub, prefix)
            if name in components and components[name] != moved:
                raise ValueError(f"two different schemas are named {name!r}")
            components[name] = moved
    return components


def _mqtt(qos: int, *, retain: bool) -> dict[str, Any]:
    return {"mqtt": {"qos": qos, "retain": retain, "bindingVersion": MQTT_BINDING_VERSION}}


def _ref(*path: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(path)}


_PARAMETERS: Final[dict[str, dict[str, Any]]] = {
    "district": {"description": "District slug ([board] district).", "examples": ["ba-dinh"]},
    "commune": {"description": "Commune slug ([board] commune).", "examples": ["phuc-xa"]},
    "group": {
        "description": "A group the board belongs to ([board] groups, or its remote "
        "assignment): an administrative unit code or any slug; channel `group:{group}`.",
        "examples": ["truong-hoc"],
    },
    "board": {
        "description": "Board id ([board] id), also the board's MQTT client id.",
        "examples": ["hn-badinh-phucxa-01"],
    },
    "alertId": {
        "description": "The alert's `id`; one retained topic per alert.",
        "examples": ["bao-so-3-2026-11-27"],
    },
    "name": {
        "description": "A layout's name (its `name:`); one retained topic per layout.",
        "examples": ["bus_times"],
    },
}

_STATUS_SHUTDOWN: Final = {"state": "offline", "reason": "shutdown"}
_STATUS_WILL: Final = {"state": "offline", "reason": "connection-lost"}
_WILL_PAYLOAD: Final = '{"state":"offline","reason":"connection-lost"}'


def _messages() -> dict[str, dict[str, Any]]:
    def json_message(name: str, title: str, summary: str, schema: str) -> dict[str, Any]:
        return {
            "name": name,
            "title": title,
            "summary": summary,
            "contentType": "application/json",
            "payload": _ref("components", "schemas", schema),
        }

    online = {
        "state": "online",
        "since": "2026-11-27T03:12:09.412+07:00",
        "agent_version": _agent_version(),
    }
    return {
        "playlist": json_message(
            "playlist", "Playlist", "A channel's whole current content.", "Playlist"
        ),
        "alert": json_message("alert", "Alert", "An emergency alert.", "Alert"),
        "keyring": {
            **json_message(
                "keyring", "Keyring", "The keys the board trusts besides its roots.", "Keyring"
            ),
            "description": "On the wire always a JWS compact serialization (EdDSA, `cty` "
            "json) whose payload is this JSON object, signed by a key that may sign "
            "`keyring` (CONTRACT §7). Every other inbound message may be signed the same way.",
        },
        "layout": {
            "name": "layout",
            "title": "Layout",
            "summary": "A layout file's YAML text (docs/layouts.md), or a JWS of it.",
            "description": "The text a file of [display] layouts_dir holds, at most 256 KiB, "
            "checked the same way (its problems, with their line numbers, in "
            "`content.rejected`). Signed: a JWS compact serialization with `cty` yaml, by a "
            "key that may sign `layout`.",
            "contentType": "application/yaml",
            "payload": {"type": "string", "contentMediaType": "application/yaml"},
        },
        "assignment": json_message(
            "assignment", "Assignment", "Where the board belongs: its groups.", "Assignment"
        ),
        "clear": {
            "name": "clear",
            "title": "Empty retained payload",
            "summary": "Zero bytes, retained: clears a content channel, deletes an alert or "
            "removes a layout.",
            "description": "Publish an empty retained message on the topic (the usual MQTT "
            "way to delete a retained message). It carries no JSON.",
        },
        "command": json_message("command", "Command", "A command to the board.", "Command"),
        "commandResult": json_message(
            "command_result", "Command result", "The result of one command.", "CommandResult"
        ),
        "heartbeat": json_message("heartbeat", "Heartbeat", "Periodic health report.", "Heartbeat"),
        "event": json_message("event", "Event", "Something that happened.", "Event"),
        "status": {
            **json_message("status", "Status", "Retained presence of the board.", "Status"),
            "examples": [
                {"name": "online", "summary": "After each connect", "payload": online},
                {"name": "shutdown", "summary": "Clean stop", "payload": _STATUS_SHUTDOWN},
                {"name": "lastWill", "summary": "Last Will (broker)", "payload": _STATUS_WILL},
            ],
        },
        "screenshot": {
            "name": "screenshot",
            "title": "Screenshot",
            "summary": "PNG bytes of the frame on show, answering a `screenshot` command.",
            "contentType": "image/png",
            "payload": {"type": "string", "format": "binary", "contentMediaType": "image/png"},
        },
    }


# The AsyncAPI message id of each kind of message a topic row carries.
_MESSAGE_IDS: Final[dict[MessageKind, str]] = {"command_result": "commandResult"}


def _message_id(kind: MessageKind) -> str:
    return _MESSAGE_IDS.get(kind, kind)


def _template_names(topic_root: str) -> dict[str, str]:
    """What a row's `{…}` fields become in the document: the root, and parameters."""
    return {
        "root": topic_root,
        **{name: f"{{{name}}}" for name in _PARAMETERS},
        "will": _WILL_PAYLOAD,
    }


def _servers(topic_root: str) -> dict[str, Any]:
    status = row_for("status")
    will_topic = status.template.format(**_template_names(topic_root))
    will = {"topic": will_topic, "qos": status.qos, "message": _WILL_PAYLOAD}
    bindings = {
        "mqtt": {
            "lastWill": {**will, "retain": status.retain},
            "keepAlive": 30,
            "bindingVersion": MQTT_BINDING_VERSION,
        }
    }
    described = (
        "The city's MQTT broker ([mqtt] host, port). The board connects with its board id "
        "as client id, keep-alive [mqtt] keepalive_s (default 30 s), and a retained Last Will "
        "on its status topic."
    )
    host = {"description": "[mqtt] host", "examples": ["mqtt.example.city"]}
    return {
        "broker": {
            "host": "{host}:1883",
            "protocol": "mqtt",
            "title": "City broker",
            "description": described,
            "variables": {"host": copy.deepcopy(host)},
            "bindings": copy.deepcopy(bindings),
        },
        "brokerTls": {
            "host": "{host}:8883",
            "protocol": "secure-mqtt",
            "title": "City broker over TLS",
            "description": described + " TLS: [mqtt] tls = true, ca_file, cert_file, key_file.",
            "variables": {"host": copy.deepcopy(host)},
            "bindings": copy.deepcopy(bindings),
        },
    }


def asyncapi_document(topic_root: str = DEFAULT_TOPIC_ROOT) -> dict[str, Any]:
    """AsyncAPI 3.0.0 document of every topic a board subscribes and publishes to."""
    names = _template_names(topic_root)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for row in TOPIC_TABLE:
        address = row.template.format(**names)
        messages = [_message_id(kind) for kind in row.messages]
        parameters = {
            name: _ref("components", "parameters", name)
            for name in _PARAMETERS
            if f"{{{name}}}" in address
        }
        channel: dict[str, Any] = {
            "address": address,
            "title": row.title,
            "description": row.description.format(**names),
            "messages": {name: _ref("components", "messages", name) for name in messages},
        }
        if parameters:
            channel["parameters"] = parameters
        channels[row.name] = channel
        action = row.direction  # AsyncAPI's actions are named as the table's directions
        operation: dict[str, Any] = {
            "action": action,
            "channel": _ref("channels", row.name),
            "title": f"{action.title()} {row.title}",
            "messages": [_ref("channels", row.name, "messages", m) for m in messages],
            "bindings": _mqtt(row.qos, retain=row.retain),
        }
        if row.purpose == "command":
            result = row_for("command_result")
            reply_id = _message_id(result.messages[0])
            operation["reply"] = {
                "channel": _ref("channels", result.name),
                "messages": [_ref("channels", result.name, "messages", reply_id)],
            }
        operations[row.operation] = operation
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "signage-agent board",
            "version": _agent_version(),
            "description": (
                "MQTT interface of one city information board. `receive` operations are "
                "what the board subscribes to (content, alerts, commands), `send` operations "
                "what it publishes (presence, heartbeats, events, command results, "
                f"screenshots). Topic root: `{topic_root}` ([mqtt] topic_root). Payloads are "
                "UTF-8 JSON objects with a `type` discriminator (status: `state`); inbound "
                "payloads with unknown keys are rejected."
            ),
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": _servers(topic_root),
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": _component_schemas(),
            "messages": _messages(),
            "parameters": copy.deepcopy(_PARAMETERS),
        },
    }
