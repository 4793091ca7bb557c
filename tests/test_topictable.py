"""The topic table drives subscriptions, publishing, routing and the AsyncAPI document;
commands are a discriminated union whose arguments the published schema shows."""

from __future__ import annotations

import json
import queue
import time
from typing import Any, get_args, get_type_hints

import pytest
from jsonschema import Draft202012Validator

from agent.clock import SystemClock
from agent.commands import CommandFailed, CommandRunner, StallCommand, typed_command
from agent.config import MqttConfig
from agent.link import MqttLink
from agent.link_messages import LinkUp
from agent.messages import (
    BrightnessArgs,
    Command,
    DisplayPowerCommand,
    KnownCommand,
    NoArgs,
    PingCommand,
    SetBrightnessCommand,
)
from agent.schema import asyncapi_document, json_schemas
from agent.topics import (
    TOPIC_TABLE,
    AlertTopic,
    AssignmentTopic,
    CommandTopic,
    ContentTopic,
    KeyringTopic,
    LayoutTopic,
    Topics,
)
from agent.validation import decode
from tests.support import Broker, Observer

TOPICS = Topics("signage/v1", "ba-dinh", "phuc-xa", "hn-01", ("truong-hoc",))
RECEIVE = [row for row in TOPIC_TABLE if row.direction == "receive"]
SEND = [row for row in TOPIC_TABLE if row.direction == "send"]
PUBLIC_COMMANDS = {"ping", "screenshot", "reload", "set_brightness", "display_power", "restart"}


# --- the table --------------------------------------------------------------------------


def test_the_board_subscribes_to_every_receive_row_with_its_qos() -> None:
    rows = TOPICS.subscription_rows(alerts=True, trust=True)
    assert [row for _topic, row in rows] == RECEIVE
    assert [topic for topic, _row in rows] == [
        TOPICS.address(row, group="truong-hoc") for row in RECEIVE
    ]
    assert all(row.qos == 1 for _topic, row in rows)
    without_alerts = [row for _topic, row in TOPICS.subscription_rows(alerts=False, trust=True)]
    assert without_alerts == [row for row in RECEIVE if row.purpose != "alert"]
    # The keyring only for a board with [trust] (CONTRACT §7).
    without_trust = [row for _topic, row in TOPICS.subscription_rows(alerts=True)]
    assert without_trust == [row for row in RECEIVE if row.purpose != "keyring"]
    assert "signage/v1/trust" in TOPICS.subscriptions(alerts=True, trust=True)
    assert "signage/v1/alert/board/hn-01/+" in TOPICS.subscriptions(alerts=True)


def test_routing_reads_the_table() -> None:
    for row in RECEIVE:
        address = TOPICS.address(row, alert_id="bao-so-3", layout="bus_times", group="truong-hoc")
        route = TOPICS.route(address)
        channel = "group:truong-hoc" if row.per_group else str(row.scope)
        if row.purpose == "content":
            assert route == ContentTopic(channel), row.name
        elif row.purpose == "alert":
            assert route == AlertTopic(channel, "bao-so-3"), row.name
        elif row.purpose == "keyring":
            assert route == KeyringTopic(), row.name
        elif row.purpose == "layout":
            assert route == LayoutTopic("bus_times"), row.name
        elif row.purpose == "assignment":
            assert route == AssignmentTopic(), row.name
        else:
            assert route == CommandTopic(), row.name
    for row in SEND:  # the board's own outbound topics are never routed inbound
        assert TOPICS.route(TOPICS.address(row)) is None, row.name
        assert TOPICS.outbound(TOPICS.address(row)) == row
    assert TOPICS.route("signage/v1/alert/city/a/b") is None  # one level per alert id
    assert TOPICS.route("signage/v1/alert/city/") is None
    assert TOPICS.route("signage/v1/layout/a/b") is None  # one level per layout name
    assert TOPICS.route("signage/v1/layout/") is None
    assert TOPICS.outbound(TOPICS.command) is None  # inbound, not published by the board


def test_outbound_rows_are_the_contract_flags() -> None:
    flags = {row.purpose: (row.qos, row.retain) for row in SEND}
    assert flags == {
        "status": (1, True),
        "heartbeat": (1, False),
        "events": (1, False),
        "command_result": (1, False),
        "screenshot": (1, False),
    }


def test_the_asyncapi_document_is_the_table() -> None:
    document = asyncapi_document()
    assert list(document["channels"]) == [row.name for row in TOPIC_TABLE]
    assert list(document["operations"]) == [row.operation for row in TOPIC_TABLE]
    for row in TOPIC_TABLE:
        channel = document["channels"][row.name]
        expected = row.template.format(
            root="signage/v1",
            district="{district}",
            commune="{commune}",
            board="{board}",
            group="{group}",
            alertId="{alertId}",
            name="{name}",
        )
        assert channel["address"] == expected
        operation = document["operations"][row.operation]
        assert operation["action"] == row.direction
        binding = operation["bindings"]["mqtt"]
        assert (binding["qos"], binding["retain"]) == (row.qos, row.retain), row.name
        for unfilled in ("{root}", "{will}"):  # every template field of the prose filled
            assert unfilled not in channel["description"], row.name


# --- publishing with the table's flags, against a real Mosquitto --------------------------


def test_the_link_publishes_with_each_rows_retain_flag(broker: Broker) -> None:
    config = MqttConfig(host="127.0.0.1", port=broker.port, keepalive_s=5)
    inbox: queue.Queue[Any] = queue.Queue()
    link = MqttLink(config, "hn-01", TOPICS, inbox, SystemClock())
    link.start()
    try:
        deadline = time.monotonic() + 10
        while not isinstance(inbox.get(timeout=max(0.0, deadline - time.monotonic())), LinkUp):
            pass
        with pytest.raises(ValueError, match="not an outbound topic"):
            link.publish("signage/v1/board/hn-01/nonsense", b"{}")
        for purpose in ("heartbeat", "events", "command_result", "screenshot"):
            topic = TOPICS.address(next(row for row in SEND if row.purpose == purpose))
            mid = link.publish(topic, json.dumps({"purpose": purpose}).encode())
            assert mid is not None
        # Sent after the others on the same connection: once it is here, so are they.
        link.publish(TOPICS.status, b'{"state":"online"}')
        late = Observer(broker.port, ["signage/v1/board/hn-01/#"]).connect()
        try:
            late.wait_for(lambda m: m.topic == TOPICS.status)
            retained = {m.topic for m in late.find(lambda m: m.retain)}
            assert retained == {TOPICS.status}  # only the row that says retain
        finally:
            late.close()
    finally:
        link.stop()


# --- commands: a discriminated union on `command` -----------------------------------------


def _command(name: str, **args: Any) -> Command:
    body = {"type": "command", "id": f"t-{name}", "command": name, "args": args}
    return decode(json.dumps(body).encode(), Command)


def _schema_errors(payload: dict[str, Any]) -> list[str]:
    validator = Draft202012Validator(json_schemas()["command"])
    return [error.message for error in validator.iter_errors(payload)]


def test_the_command_schema_shows_each_commands_arguments() -> None:
    schema = json_schemas()["command"]
    members = [schema["$defs"][ref["$ref"].rsplit("/", 1)[1]] for ref in schema["oneOf"]]
    names = {member["properties"]["command"]["const"] for member in members}
    assert names == PUBLIC_COMMANDS
    brightness = schema["$defs"]["BrightnessArgs"]
    assert brightness["properties"]["percent"]["maximum"] == 100
    assert brightness["required"] == ["percent"]
    assert schema["$defs"]["PowerArgs"]["properties"]["state"]["enum"] == ["on", "off"]
    assert "stall" not in json.dumps(schema)  # the test hook is no part of the contract
    good = {"type": "command", "id": "a", "command": "set_brightness", "args": {"percent": 40}}
    assert _schema_errors(good) == []
    assert _schema_errors({**good, "args": {"percent": 150}})
    assert _schema_errors({**good, "args": {}})
    assert _schema_errors({**good, "command": "display_power", "args": {"state": "dim"}})
    assert _schema_errors({**good, "command": "ping", "args": {"x": 1}})
    assert _schema_errors({**good, "command": "ping", "args": {}}) == []
    assert _schema_errors({"type": "command", "id": "a", "command": "ping"}) == []


def test_a_command_is_read_as_its_member_with_typed_args() -> None:
    dim = typed_command(_command("set_brightness", percent=30, for_s=600))
    assert isinstance(dim, SetBrightnessCommand)
    assert dim.args == BrightnessArgs(percent=30, for_s=600.0)
    off = typed_command(_command("display_power", state="off"))
    assert isinstance(off, DisplayPowerCommand)
    assert off.args.state == "off"
    ping = typed_command(_command("ping"))
    assert isinstance(ping, PingCommand)
    assert ping.args == NoArgs()
    stall = typed_command(_command("stall", seconds=3))
    assert isinstance(stall, StallCommand)
    assert stall.args.seconds == 3.0


@pytest.mark.parametrize(
    ("name", "args", "said"),
    [
        ("set_brightness", {"percent": 150}, "args.percent: Input should be less than or equal"),
        ("set_brightness", {}, "args.percent: required key is missing"),
        ("set_brightness", {"percent": 40, "colour": 1}, "args.colour: unknown key"),
        ("set_brightness", {"percent": "40"}, "args.percent: Input should be a valid integer"),
        ("display_power", {"state": "dim"}, "args.state: Input should be 'on' or 'off'"),
        ("ping", {"x": 1, "a": 2}, "takes no arguments (got a, x)"),
        ("restart", {"now": True}, "takes no arguments (got now)"),
    ],
)
def test_args_that_do_not_fit_fail_the_command_naming_the_path(
    name: str, args: dict[str, Any], said: str
) -> None:
    with pytest.raises(CommandFailed) as caught:
        typed_command(_command(name, **args))
    assert said in str(caught.value)
    assert not str(caught.value).startswith(name)  # the union's tag is not in the path


def test_each_member_of_the_union_has_a_handler_taking_its_args() -> None:
    union, _discriminator = get_args(KnownCommand)
    for member in (*get_args(union), StallCommand):
        name = get_args(member.model_fields["command"].annotation)[0]
        handler = getattr(CommandRunner, name)
        hints = get_type_hints(handler)
        (args_type,) = (hint for key, hint in hints.items() if key != "return")
        assert args_type is member.model_fields["args"].annotation, name
