"""Machine-readable contract: JSON Schemas of every payload and an AsyncAPI 3.0 document.

Both are generated from the pydantic models in `agent.messages` (what the agent really
validates and sends) and the topic names in `agent.topics` (what it really subscribes
and publishes to), so they cannot drift from the code. `signage-agent schema` prints
`schema_document()`; docs/contract.md is the prose for people.

`payloads` generates the JSON Schemas, `asyncapi` the AsyncAPI document (which holds
them as components); this package puts the two together for the command line.
"""

from __future__ import annotations

from typing import Any

from agent.schema.asyncapi import (
    ASYNCAPI_VERSION,
    DEFAULT_TOPIC_ROOT,
    MQTT_BINDING_VERSION,
    asyncapi_document,
)
from agent.schema.payloads import (
    JSON_SCHEMA_DIALECT,
    PAYLOAD_KINDS,
    SCHEMA_BASE_URI,
    Direction,
    json_schemas,
)

__all__ = [
    "ASYNCAPI_VERSION",
    "DEFAULT_TOPIC_ROOT",
    "JSON_SCHEMA_DIALECT",
    "MQTT_BINDING_VERSION",
    "PAYLOAD_KINDS",
    "SCHEMA_BASE_URI",
    "Direction",
    "asyncapi_document",
    "json_schemas",
    "schema_document",
]


def schema_document() -> dict[str, Any]:
    """What `signage-agent schema` prints."""
    return {"json_schemas": json_schemas(), "asyncapi": asyncapi_document()}
