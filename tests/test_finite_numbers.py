"""Every number in every inbound payload and in the config must be finite (issue 21).

The property: take a valid payload of each inbound model (playlist, alert, command) or a
valid config, put a non-finite or extreme number at ANY position of it (every field of
every model, free-form command `args` included), and the one door for inbound bytes
(`validation.decode`, `load_config`) refuses it with that position's path. Nothing
non-finite reaches the code behind (renderer, command handlers, timers).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from agent.config import ConfigError, load_config
from agent.content import parse_playlist
from agent.messages import (
    Alert,
    Assignment,
    BrightnessArgs,
    Command,
    Inbound,
    Keyring,
    Playlist,
    PowerArgs,
)
from agent.validation import DEFAULT_MAX_PAYLOAD_BYTES, InvalidInput, decode
from firmware_bridge.protocols import PROTOCOLS

PLAYLIST: dict[str, Any] = {
    "type": "playlist",
    "version": 18,
    "issued_at": "2026-11-27T07:30:00+07:00",
    "items": [
        {
            "id": "tiem-chung",
            "layout": "headline",
            "fields": {
                "title": "Lịch tiêm chủng",
                "body": "Trạm y tế phường",
                "image": {"url": "https://img.example/a.png", "sha256": "0" * 64},
            },
            "duration_s": 15,
            "priority": 2,
            "valid_from": "2026-11-27T06:00:00+07:00",
            "valid_until": "2026-11-30T12:00:00+07:00",
            "schedule": [{"days": ["mon", "sat"], "from": "06:00", "to": "21:30"}],
        }
    ],
}
ALERT: dict[str, Any] = {
    "type": "alert",
    "id": "storm-1",
    "msg_type": "alert",
    "status": "actual",
    "sender": "pccc@hanoi.gov.vn",
    "sent": "2026-11-27T07:30:00+07:00",
    "expires": "2026-11-27T19:30:00+07:00",
    "severity": "severe",
    "urgency": "expected",
    "headline": "Bão số 9",
    "description": "Gió mạnh cấp 10",
    "instruction": "Ở trong nhà",
    "layout": "alert_full",
    "image": {"url": "https://canhbao.example.vn/ban-do.png", "sha1": "a" * 40},
}
COMMAND: dict[str, Any] = {
    "type": "command",
    "id": "dash-7f40",
    "command": "set_brightness",
    "args": {"percent": 40, "for_s": 3600, "extra": [1, {"deep": 2.5}]},
}

KEYRING: dict[str, Any] = {
    "type": "keyring",
    "version": 4,
    "keys": [
        {
            "kid": "pctt-2027",
            "public_key": {"kty": "OKP", "crv": "Ed25519", "x": "A" * 42 + "E"},
            "may_sign": ["alert"],
            "not_after": "2027-12-31T23:59:59+07:00",
        }
    ],
    "revoked": ["pctt-2026"],
}

ASSIGNMENT: dict[str, Any] = {
    "type": "assignment",
    "version": 7,
    "groups": ["phuong-ba-dinh", "truong-hoc"],
    "area_codes": ["00004"],
    "location": [21.0368, 105.8342],
    "name": "Bảng tin Phường Ba Đình",
}

# JSON literals Python's json module (and pydantic's parser) accept although they are not
# finite numbers or are out of any sane range.
NON_FINITE_LITERALS = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E999", "-0.1e99999"]
)
HUGE_INTEGERS = st.integers(min_value=2**63, max_value=10**60).flatmap(
    lambda n: st.sampled_from([str(n), str(-n)])
)
BAD_NUMBERS = NON_FINITE_LITERALS | HUGE_INTEGERS
MARK = "__number_goes_here__"


def positions(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every position in a JSON document: each value of every object and list."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from positions(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*path, index)
            yield from positions(value, (*path, index))


def replaced(document: Any, path: tuple[str | int, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(document))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copy


def with_literal(document: Any, path: tuple[str | int, ...], literal: str) -> bytes:
    text = json.dumps(replaced(document, path, MARK), ensure_ascii=False)
    return text.replace(f'"{MARK}"', literal).encode()


def dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path)


CASES: list[tuple[str, dict[str, Any], Callable[[bytes], object]]] = [
    ("playlist", PLAYLIST, lambda raw: parse_playlist(raw, max_bytes=DEFAULT_MAX_PAYLOAD_BYTES)),
    ("alert", ALERT, lambda raw: decode(raw, Alert)),
    ("command", COMMAND, lambda raw: decode(raw, Command)),
    ("keyring", KEYRING, lambda raw: decode(raw, Keyring)),
    ("assignment", ASSIGNMENT, lambda raw: decode(raw, Assignment)),
]
POSITIONS = [
    (name, document, check, path)
    for name, document, check in CASES
    for path in positions(document)
    if path != ("type",)  # the discriminator: tested below with its own message
]


def test_the_examples_are_valid_as_they_stand() -> None:
    for _name, document, check in CASES:
        check(json.dumps(document).encode())


def test_every_inbound_model_is_covered() -> None:
    """A new inbound model must get an example above (or be nested in one)."""
    covered = {Playlist, Alert, Command, Keyring, Assignment}
    nested = {
        "PlaylistItem",
        "ImageRef",
        "ScheduleWindow",
        "Sha1ImageRef",
        "KeyringKey",
        "PublicJwk",
    }
    for model in Inbound.__subclasses__():
        assert model in covered or model.__name__ in nested, model.__name__


@pytest.mark.parametrize(
    ("name", "document", "check", "path"),
    POSITIONS,
    ids=[f"{c[0]}:{dotted(c[3])}" for c in POSITIONS],
)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(literal=BAD_NUMBERS)
def test_a_bad_number_anywhere_is_rejected_with_its_path(
    name: str, document: Any, check: Any, path: tuple[str | int, ...], literal: str
) -> None:
    raw = with_literal(document, path, literal)
    with pytest.raises(InvalidInput) as caught:
        check(raw)
    paths = [e.path for e in caught.value.errors]
    assert dotted(path) in paths, (name, literal, caught.value.errors)


@given(key=st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12))
@settings(max_examples=30, deadline=None)
def test_non_finite_in_free_form_args_is_rejected_under_any_key(key: str) -> None:
    document = replaced(COMMAND, ("args",), {key: {"inner": [MARK]}})
    text = json.dumps(document, ensure_ascii=False).replace(f'"{MARK}"', "NaN")
    with pytest.raises(InvalidInput) as caught:
        decode(text.encode(), Command)
    assert [e.path for e in caught.value.errors] == [f"args.{key}.inner.0"]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_args_built_in_python_are_rejected_by_the_model(value: float) -> None:
    # Not only the JSON door: a Command built from Python objects refuses them too.
    with pytest.raises(ValidationError) as caught:
        Command.model_validate({**COMMAND, "args": {"x": [value]}})
    assert "args.x.0" in str(caught.value)


EXTREME_FINITE = st.sampled_from([1e308, -1e308, 2.0**63, -(2.0**63), 1e16 + 0.5])


@pytest.mark.parametrize("model", [BrightnessArgs, PowerArgs])
@given(value=EXTREME_FINITE | st.sampled_from([math.nan, math.inf, -math.inf]))
@settings(max_examples=20, deadline=None)
def test_command_handlers_refuse_extreme_numbers(model: type[BaseModel], value: float) -> None:
    """What a command's args become before a handler runs: no absurd number gets in."""
    for field in model.model_fields:
        with pytest.raises(ValidationError) as caught:
            model.model_validate({"percent": 40, "state": "on", field: value})
        assert any(e["loc"] == (field,) for e in caught.value.errors()), field


@given(value=EXTREME_FINITE)
@settings(max_examples=20, deadline=None)
def test_extreme_finite_numbers_in_typed_fields_are_rejected(value: float) -> None:
    for path in [("version",), ("items", 0, "duration_s"), ("items", 0, "priority")]:
        raw = json.dumps(replaced(PLAYLIST, path, value)).encode()
        with pytest.raises(InvalidInput) as caught:
            parse_playlist(raw, max_bytes=DEFAULT_MAX_PAYLOAD_BYTES)
        assert dotted(path) in [e.path for e in caught.value.errors]


# --- config -----------------------------------------------------------------------------

CONFIG_NUMBERS: dict[str, dict[str, int | float]] = {
    "mqtt": {
        "port": 1883,
        "keepalive_s": 30,
        "reconnect_min_s": 1.0,
        "reconnect_max_s": 60.0,
        "max_queued_messages": 1000,
        "outbox_bound": 10000,
        "connect_timeout_s": 10.0,
        "max_packet_size": 268435455,
    },
    "display": {"width": 640, "height": 480, "fps": 30},
    "serial": {
        "baudrate": 115200,
        "panel_width": 64,
        "panel_height": 32,
        "write_timeout_s": 2.0,
        "ack_timeout_s": 0.25,
        "reconnect_min_s": 0.5,
        "reconnect_max_s": 10.0,
        "threshold": 128,
        "gamma": 2.2,
        "alpha_packet_gap_s": 0.15,
    },
    "health": {"heartbeat_interval_s": 30},
    "inbox": {"max_files": 100},
    "content": {
        "max_payload_bytes": 1048576,
        "max_asset_bytes": 16777216,
        "download_connect_timeout_s": 10.0,
        "download_first_byte_timeout_s": 20.0,
        "download_deadline_s": 120.0,
        "download_workers": 3,
        "max_image_side": 8192,
        "max_image_pixels": 4194304,
        "max_video_bytes": 209715200,
        "video_download_deadline_s": 1800.0,
        "min_free_disk_mb": 64,
    },
    "alerts": {"feed_interval_s": 60.0, "default_expiry_s": 3600},
    "trust": {"command_max_age_s": 300},
}
TOML_NON_FINITE = st.sampled_from(["nan", "+nan", "-nan", "inf", "+inf", "-inf"])
TOML_EXTREME = st.sampled_from(["1e308", "-1e308", "9223372036854775807", "-9223372036854775808"])


def section_models(annotation: Any) -> list[type[BaseModel]]:
    """The models a section's annotation allows."""
    if isinstance(annotation, type):
        return [annotation] if issubclass(annotation, BaseModel) else []
    return [model for arg in get_args(annotation) for model in section_models(arg)]


def test_every_numeric_config_key_is_in_the_table() -> None:
    from agent.config import AgentConfig

    for section, field in AgentConfig.model_fields.items():
        # `[serial]`: one model per protocol, loaded only for a config with the section.
        models = list(PROTOCOLS.values()) if section == "serial" else []
        for model in models or section_models(field.annotation):
            for key, info in model.model_fields.items():
                text = str(info.annotation)
                # Whole words: "StringConstraints" (a slug's, `district: Slug | None`)
                # is not an int.
                if re.search(r"\b(int|float)\b", text) and "Literal" not in text:
                    assert key in CONFIG_NUMBERS.get(section, {}), f"{section}.{key}"


def config_text(section: str, key: str, literal: str) -> str:
    sections: dict[str, dict[str, str]] = {
        "board": {"id": '"b1"', "district": '"d"', "commune": '"c"', "name": '"Bảng"'},
        "mqtt": {"host": '"localhost"'},
        "display": {"output": '"serial"'},
        "serial": {"port": '"loop://"', "protocol": '"tpm2"'},
        "health": {},
        "inbox": {"dir": '"/tmp/signage-inbox"'},
        "content": {},
        "alerts": {},
        "trust": {},
    }
    for name, values in CONFIG_NUMBERS.items():
        for k, v in values.items():
            sections[name].setdefault(k, str(v))
    # `[serial]` takes only its protocol's keys: the protocol that has the key under test.
    protocol = next(
        (name for name, model in PROTOCOLS.items() if key in model.model_fields), "tpm2"
    )
    serial = sections["serial"] | {"protocol": f'"{protocol}"'}
    sections["serial"] = {k: v for k, v in serial.items() if k in PROTOCOLS[protocol].model_fields}
    sections[section][key] = literal
    return "".join(
        f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
        for name, values in sections.items()
    )


CONFIG_POSITIONS = [(s, k) for s, keys in CONFIG_NUMBERS.items() for k in keys]


def test_the_config_example_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(config_text("health", "heartbeat_interval_s", "30"))
    load_config(path, env={}, files_elsewhere=True)


@pytest.mark.parametrize(
    ("section", "key"), CONFIG_POSITIONS, ids=[f"{s}.{k}" for s, k in CONFIG_POSITIONS]
)
@given(literal=TOML_NON_FINITE | TOML_EXTREME)
@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_bad_number_in_the_config_is_rejected_with_its_key(
    tmp_path: Path, section: str, key: str, literal: str
) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(config_text(section, key, literal))
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={}, files_elsewhere=True)
    assert any(p.startswith(f"{path}: {section}.{key}: ") for p in caught.value.problems), (
        caught.value.problems
    )
    if literal.lstrip("+-") in ("nan", "inf"):
        assert any("finite" in p for p in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("literal", ["nan", "-inf"])
def test_a_non_finite_environment_override_names_the_variable(tmp_path: Path, literal: str) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(config_text("health", "heartbeat_interval_s", "30"))
    env = {"SIGNAGE_HEALTH__HEARTBEAT_INTERVAL_S": literal}
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=env, files_elsewhere=True)
    assert caught.value.problems == [
        "SIGNAGE_HEALTH__HEARTBEAT_INTERVAL_S (environment): health.heartbeat_interval_s: "
        f"Input should be a finite number (got {float(literal)!r})"
    ]
