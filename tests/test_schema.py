"""The published schemas (`signage-agent schema`) against the examples and the contract."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any, get_args

import pytest
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker
from pydantic import TypeAdapter

from agent.content import parse_playlist
from agent.messages import (
    Alert,
    Assignment,
    Command,
    CommandResult,
    Event,
    Heartbeat,
    Keyring,
    Status,
)
from agent.schema import PAYLOAD_KINDS, asyncapi_document, json_schemas, schema_document
from agent.validation import InvalidInput, decode

REPO = Path(__file__).resolve().parents[1]
DOC_EXAMPLES = REPO / "docs" / "examples"
SHARED_SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec"
SHARED_EXAMPLES = SHARED_SPEC / "examples"
CONTRACT_DOC = REPO / "docs" / "contract.md"

ROOT = "signage/v1"
# CONTRACT §2, with its {d}/{c}/{b}/{id} spelled as the AsyncAPI parameters.
CONTRACT_TOPICS = {
    "receive": {
        f"{ROOT}/content/city",
        f"{ROOT}/content/district/{{district}}",
        f"{ROOT}/content/commune/{{district}}/{{commune}}",
        f"{ROOT}/content/board/{{board}}",
        f"{ROOT}/alert/city/{{alertId}}",
        f"{ROOT}/alert/district/{{district}}/{{alertId}}",
        f"{ROOT}/alert/commune/{{district}}/{{commune}}/{{alertId}}",
        f"{ROOT}/alert/board/{{board}}/{{alertId}}",
        f"{ROOT}/board/{{board}}/cmd",
        f"{ROOT}/trust",
        f"{ROOT}/layout/{{name}}",
        f"{ROOT}/content/group/{{group}}",
        f"{ROOT}/alert/group/{{group}}/{{alertId}}",
        f"{ROOT}/board/{{board}}/assignment",
    },
    "send": {
        f"{ROOT}/board/{{board}}/status",
        f"{ROOT}/board/{{board}}/heartbeat",
        f"{ROOT}/board/{{board}}/events",
        f"{ROOT}/board/{{board}}/cmd/result",
        f"{ROOT}/board/{{board}}/screenshot",
    },
}


def _retained(address: str) -> bool:
    retained = ("/content/", "/alert/", "/layout/")
    retained_ends = ("/status", "/trust", "/assignment")
    return any(part in address for part in retained) or address.endswith(retained_ends)


EVENT_KINDS = {str(model.model_fields["kind"].default) for model in get_args(get_args(Event)[0])}

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
FORMATS = FormatChecker(formats=())


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value)  # rejects 2026-13-45 and the like
    return True


# Registered by a call, not as a decorator: jsonschema is untyped here (see pyproject), and
# a decorator from it would make `_date_time` untyped too.
FORMATS.checks("date-time", raises=ValueError)(_date_time)


def example_files() -> list[Path]:
    files = sorted(DOC_EXAMPLES.glob("*.json"))
    if SHARED_EXAMPLES.is_dir():
        files += sorted(SHARED_EXAMPLES.glob("*.json"))
    return files


def _id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.name}"


def kind_of(payload: dict[str, Any]) -> str:
    if "type" in payload:
        return str(payload["type"])
    assert "state" in payload, "a payload without `type` must be a status"
    return "status"


def load(path: Path) -> dict[str, Any]:
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(payload, dict), f"{path.name}: one JSON object per file"
    return payload


def validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(json_schemas()[kind], format_checker=FORMATS)


def errors(kind: str, payload: Any) -> list[str]:
    found = validator(kind).iter_errors(payload)
    return [f"{'.'.join(map(str, e.absolute_path)) or '$'}: {e.message}" for e in found]


# --- JSON Schemas -----------------------------------------------------------------------


def test_a_schema_for_every_payload() -> None:
    schemas = json_schemas()
    assert (
        set(schemas)
        == set(PAYLOAD_KINDS)
        == {
            "playlist",
            "alert",
            "command",
            "keyring",
            "assignment",
            "command_result",
            "heartbeat",
            "event",
            "status",
        }
    )
    for kind, schema in schemas.items():
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"https://signage-agent.example/schemas/{kind}.json"
        assert schema["title"]
        assert schema["description"]


def test_outbound_discriminators_are_required() -> None:
    schemas = json_schemas()
    assert "type" in schemas["heartbeat"]["required"]
    assert "type" in schemas["command_result"]["required"]
    for name, sub in schemas["event"]["$defs"].items():
        if "kind" in sub.get("properties", {}):
            assert {"type", "kind"} <= set(sub["required"]), name


@pytest.mark.parametrize("path", example_files(), ids=_id)
def test_example_matches_its_schema(path: Path) -> None:
    payload = load(path)
    assert errors(kind_of(payload), payload) == []


@pytest.mark.parametrize("path", example_files(), ids=_id)
def test_example_parses_with_the_models(path: Path) -> None:
    raw = path.read_bytes()
    kind = kind_of(load(path))
    if kind == "playlist":
        parse_playlist(raw, max_bytes=1 << 20)
    elif kind == "alert":
        decode(raw, Alert)
    elif kind == "command":
        decode(raw, Command)
    elif kind == "keyring":
        decode(raw, Keyring)
    elif kind == "assignment":
        decode(raw, Assignment)
    elif kind == "command_result":
        CommandResult.model_validate_json(raw)
    elif kind == "heartbeat":
        Heartbeat.model_validate_json(raw)
    elif kind == "event":
        TypeAdapter[Any](Event).validate_json(raw)
    else:
        Status.model_validate_json(raw)


def test_docs_have_an_example_of_every_payload_and_event_kind() -> None:
    payloads = [load(path) for path in sorted(DOC_EXAMPLES.glob("*.json"))]
    assert {kind_of(p) for p in payloads} == set(PAYLOAD_KINDS)
    assert {p["kind"] for p in payloads if kind_of(p) == "event"} == EVENT_KINDS
    states = {(p["state"], p.get("reason")) for p in payloads if kind_of(p) == "status"}
    assert states == {("online", None), ("offline", "shutdown"), ("offline", "connection-lost")}


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _shape(sub) for key, sub in value.items()}
    return type(value).__name__ if value is None else "value"


def test_docs_heartbeat_has_the_shape_of_the_shared_one() -> None:
    shared = SHARED_EXAMPLES / "heartbeat.json"
    if not shared.exists():
        pytest.skip("shared/spec not beside the repository")
    # The contract's heartbeat, every key of it; our additions may come beside them.
    assert _covers(_shape(load(DOC_EXAMPLES / "heartbeat.json")), _shape(load(shared)))


def _covers(ours: Any, theirs: Any) -> bool:
    if isinstance(theirs, dict):
        return isinstance(ours, dict) and all(
            key in ours and _covers(ours[key], sub) for key, sub in theirs.items()
        )
    return bool(ours == theirs)


GOOD_PLAYLIST: dict[str, Any] = {
    "type": "playlist",
    "version": 3,
    "issued_at": "2026-11-27T07:30:00+07:00",
    "items": [{"id": "a", "layout": "led_text", "fields": {"text": "Xin chào"}}],
}


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"versoin": 3}, "$"),
        ({"version": "3"}, "version"),
        ({"issued_at": "2026-11-27 07:30"}, "issued_at"),
        ({"items": [{"id": "a", "layout": "led_text", "fields": {}, "duration": 5}]}, "items.0"),
        ({"items": [{"id": "a", "layout": "led_text", "fields": {}, "duration_s": "5"}]}, None),
        (
            {
                "items": [
                    {
                        "id": "a",
                        "layout": "led_text",
                        "fields": {"text": "Xin chào"},
                        "schedule": [{"days": ["mon", "mon"], "from": "06:00", "to": "21:30"}],
                    }
                ]
            },
            "items.0.schedule",  # reported at the anyOf (list or null)
        ),
    ],
)
def test_bad_playlists_fail_schema_and_model(change: dict[str, Any], where: str | None) -> None:
    payload = {**GOOD_PLAYLIST, **change}
    found = errors("playlist", payload)
    assert found, f"schema accepted {change}"
    if where is not None:
        assert any(e.startswith(f"{where}:") for e in found), found
    with pytest.raises(InvalidInput):
        parse_playlist(json.dumps(payload).encode(), max_bytes=1 << 20)


def test_good_playlist_passes_schema_and_model() -> None:
    assert errors("playlist", GOOD_PLAYLIST) == []
    parse_playlist(json.dumps(GOOD_PLAYLIST).encode(), max_bytes=1 << 20)


def test_alert_text_rule_agrees_with_the_model() -> None:
    cancel = {
        "type": "alert",
        "id": "a-1",
        "msg_type": "cancel",
        "status": "actual",
        "sender": "hanoi-civil-defense",
        "sent": "2026-11-27T14:05:00+07:00",
        "expires": "2026-11-28T06:00:00+07:00",
        "severity": "severe",
        "urgency": "past",
    }
    assert errors("alert", cancel) == []
    decode(json.dumps(cancel).encode(), Alert)
    textless = {**cancel, "msg_type": "alert", "headline": "Bão số 3"}
    assert errors("alert", textless)
    with pytest.raises(InvalidInput):
        decode(json.dumps(textless).encode(), Alert)


@pytest.mark.parametrize(
    ("change", "valid"),
    [
        ({"risk_level": 1}, True),
        ({"risk_level": 5}, True),
        ({"risk_level": 0}, False),
        ({"risk_level": 6}, False),
        ({"risk_level": "4"}, False),
        ({"risk_level": 2.5}, False),
        ({"sender_name": "Ban Chỉ huy Phòng chống thiên tai quận Ba Đình"}, True),
        ({"sender_name": ""}, False),
        ({"sender_name": None}, True),
    ],
)
def test_alert_authority_and_risk_level_agree_with_the_model(
    change: dict[str, Any], valid: bool
) -> None:
    alert = {**load(DOC_EXAMPLES / "alert-city-storm.json"), **change}
    assert (errors("alert", alert) == []) is valid
    if valid:
        decode(json.dumps(alert).encode(), Alert)
    else:
        with pytest.raises(InvalidInput):
            decode(json.dumps(alert).encode(), Alert)


# --- AsyncAPI ---------------------------------------------------------------------------


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"reference leaves the document: {ref}"
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"unresolved reference {ref}"
        assert key in node, f"unresolved reference {ref}"
        node = node[key]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_asyncapi_has_every_contract_topic() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "signage-agent board"
    assert document["info"]["version"]
    by_action: dict[str, set[str]] = {"receive": set(), "send": set()}
    for operation in document["operations"].values():
        channel = _resolve(document, operation["channel"]["$ref"])
        by_action[operation["action"]].add(channel["address"])
        mqtt = operation["bindings"]["mqtt"]
        assert mqtt["qos"] == 1
        assert mqtt["retain"] == _retained(channel["address"]), channel["address"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/")
    assert by_action == CONTRACT_TOPICS
    for channel in document["channels"].values():
        assert set(re.findall(r"\{(\w+)\}", channel["address"])) == set(
            channel.get("parameters", {})
        ), channel["address"]


def test_asyncapi_topics_are_those_of_the_contract_file() -> None:
    contract = SHARED_SPEC / "CONTRACT.md"
    if not contract.exists():
        pytest.skip("shared/spec not beside the repository")
    spelled = {
        "{d}": "{district}",
        "{c}": "{commune}",
        "{b}": "{board}",
        "{g}": "{group}",
        "{id}": "{alertId}",
    }
    listed = set()
    for found in re.findall(r"`(\{root\}/[^`]+)`", contract.read_text(encoding="utf-8")):
        topic = found.replace("{root}", ROOT)
        for short, long in spelled.items():
            topic = topic.replace(short, long)
        listed.add(topic)
    built = CONTRACT_TOPICS["receive"] | CONTRACT_TOPICS["send"]
    assert not built & set(NOT_BUILT_YET), "built now: take it off NOT_BUILT_YET"
    assert listed == built | set(NOT_BUILT_YET)


# Topics the contract's wave-2 sections name whose features have not landed yet, with the
# issue that builds them. The list only shrinks: a new contract topic must be built or
# named here, so the AsyncAPI document never silently lags the contract.
NOT_BUILT_YET: dict[str, str] = {}  # every topic of the contract is built


def test_asyncapi_follows_the_topic_root() -> None:
    document = asyncapi_document("hanoi/signage/v2")
    addresses = [channel["address"] for channel in document["channels"].values()]
    assert len(addresses) == 19
    assert all(address.startswith("hanoi/signage/v2/") for address in addresses)


def test_asyncapi_references_resolve_and_it_serialises() -> None:
    document = asyncapi_document()
    refs = _refs(document)
    assert len(refs) > 50
    for ref in refs:
        _resolve(document, ref)
    assert json.loads(json.dumps(document)) == document


def test_asyncapi_last_will_and_screenshot() -> None:
    document = asyncapi_document()
    status = document["channels"]["status"]["address"]
    for server in document["servers"].values():
        will = server["bindings"]["mqtt"]["lastWill"]
        assert will["topic"] == status
        assert (will["qos"], will["retain"]) == (1, True)
        assert json.loads(will["message"]) == {"state": "offline", "reason": "connection-lost"}
        assert errors("status", json.loads(will["message"])) == []
    messages = document["channels"]["screenshot"]["messages"]
    screenshot = _resolve(document, messages["screenshot"]["$ref"])
    assert screenshot["contentType"] == "image/png"
    for message in document["components"]["messages"].values():
        for example in message.get("examples", []):
            assert errors(message["name"], example["payload"]) == []


@pytest.mark.parametrize("path", example_files(), ids=_id)
def test_example_matches_the_asyncapi_message_payload(path: Path) -> None:
    # The schemas as relocated into components.schemas (AsyncAPI's draft-07 dialect).
    document = asyncapi_document()
    payload = load(path)
    message = document["components"]["messages"][
        {"command_result": "commandResult"}.get(kind_of(payload), kind_of(payload))
    ]
    wrapper = {"$ref": message["payload"]["$ref"], "components": document["components"]}
    found = list(Draft7Validator(wrapper, format_checker=FORMATS).iter_errors(payload))
    assert [e.message for e in found] == []


def test_asyncapi_component_schemas_are_draft7() -> None:
    for schema in asyncapi_document()["components"]["schemas"].values():
        Draft7Validator.check_schema(schema)


def test_schema_document() -> None:
    document = schema_document()
    assert set(document) == {"json_schemas", "asyncapi"}
    assert document["json_schemas"] == json_schemas()
    assert document["asyncapi"] == asyncapi_document()


# --- prose --------------------------------------------------------------------------------


def test_contract_doc_names_the_whole_surface() -> None:
    text = CONTRACT_DOC.read_text(encoding="utf-8")
    names = [
        *EVENT_KINDS,
        *PAYLOAD_KINDS,
        "mqtt.reconnect_min_s",
        "mqtt.reconnect_max_s",
        "mqtt.max_queued_messages",
        "content.max_payload_bytes",
        "signage-agent schema --asyncapi",
        "signage-agent schema playlist",
        "items.0.duration_s",
    ]
    missing = [name for name in names if f"`{name}" not in text]
    assert missing == []
    for address in CONTRACT_TOPICS["receive"] | CONTRACT_TOPICS["send"]:
        short = address.replace(ROOT, "{root}", 1)
        assert short in text, short
