"""One problem type, one translation of pydantic's errors (issue 11, item 3).

Configs, payloads, layouts and previews are worded alike: "did you mean …?" for keys and
for allowed values, named forms instead of raw regular expressions, HH:MM times as times.
"""

from __future__ import annotations

import json
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.config import AgentConfig, BrightnessStep, ConfigError, load_config
from agent.content import parse_playlist
from agent.messages import Alert, ScheduleWindow
from agent.preview.draft import PreviewError
from agent.validation import DEFAULT_MAX_PAYLOAD_BYTES, InvalidInput, decode
from display_layouts.input_problems import Problem, Problems, translate
from display_layouts.problems import LayoutError

BOARD = """
[board]
id = "hn-badinh-phucxa-01"
district = "ba-dinh"
commune = "phuc-xa"
name = "Bảng tin phường Phúc Xá"
"""
SERIAL = """
[display]
output = "serial"

[serial]
port = "/dev/ttyUSB0"
protocol = "alpha"
panel_width = 96
panel_height = 16
"""
# What a raw regular expression looks like in a message: anchors, classes, repeats.
REGEX = re.compile(r"\^|\$'|\[\^|\]\{|\\s|\(\?:")


def config_problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "agent.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={}, files_elsewhere=True)
    return [p.removeprefix(f"{path}: ") for p in caught.value.problems]


def payload_errors(payload: dict[str, Any], model: Any = None) -> list[tuple[str, str]]:
    raw = json.dumps(payload).encode()
    if model is None:
        with pytest.raises(InvalidInput) as caught:
            parse_playlist(raw, max_bytes=DEFAULT_MAX_PAYLOAD_BYTES)
    else:
        with pytest.raises(InvalidInput) as caught:
            decode(raw, model)
    return [(e.path, e.message) for e in caught.value.errors]


def playlist(**item: Any) -> dict[str, Any]:
    base = {"id": "a", "layout": "fullscreen_text", "fields": {"text": "Xin chào"}}
    return {
        "type": "playlist",
        "version": 1,
        "issued_at": "2026-11-27T07:30:00+07:00",
        "items": [{**base, **item}],
    }


# --- did you mean: allowed values --------------------------------------------------------


def test_a_misspelt_protocol_gets_a_suggestion(tmp_path: Path) -> None:
    found = config_problems(tmp_path, BOARD + SERIAL.replace('"alpha"', '"alpa"'))
    # [serial] is worded by the protocols' own section (firmware_bridge/protocols).
    assert found == ["serial.protocol: not a serial protocol; did you mean 'alpha'? (got 'alpa')"]


def test_a_misspelt_output_gets_a_suggestion(tmp_path: Path) -> None:
    found = config_problems(tmp_path, BOARD + '[display]\noutput = "screem"\n')
    assert len(found) == 1
    assert found[0].endswith("(got 'screem'); did you mean 'screen'?")


# "SEVERE": before, difflib compared case-sensitively and the payload got no suggestion
# (the serial settings had their own case-folding copy of did-you-mean; now they share it).
@pytest.mark.parametrize("severity", ["sever", "SEVERE"])
def test_a_misspelt_value_in_a_payload_gets_a_suggestion(severity: str) -> None:
    alert = json.loads(
        (Path(__file__).parents[2] / "docs/examples/alert-city-storm.json").read_text()
    )
    found = payload_errors(dict(alert, severity=severity), Alert)
    assert found == [
        (
            "severity",
            "Input should be 'extreme', 'severe', 'moderate', 'minor' or 'unknown'; "
            "did you mean 'severe'?",
        )
    ]


def test_a_misspelt_key_in_a_payload_gets_a_suggestion() -> None:
    found = payload_errors(playlist(duraton_s=5))
    assert found == [("items.0.duraton_s", "unknown key; did you mean 'duration_s'?")]


def test_a_key_meant_for_a_required_one_is_not_also_reported_missing(tmp_path: Path) -> None:
    found = config_problems(tmp_path, BOARD.replace("name =", "nam ="))
    assert found == ["board.nam: unknown key; did you mean 'name'?"]


# --- did you mean through a discriminated union (how [serial] is becoming one) ------------


class _Alpha(BaseModel):
    model_config = ConfigDict(extra="forbid")
    protocol: Literal["alpha"]
    alpha_mode: Literal["hold", "blink"] = "hold"


class _Tpm2(BaseModel):
    model_config = ConfigDict(extra="forbid")
    protocol: Literal["tpm2"]


class _Board(BaseModel):
    model_config = ConfigDict(extra="forbid")
    serial: Annotated[_Alpha | _Tpm2, Field(discriminator="protocol")] | None = None


def board_sentences(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        _Board.model_validate(data)
    return [(".".join(map(str, loc)), message) for loc, message in translate(caught.value, _Board)]


def test_a_unions_unknown_tag_is_a_value_with_a_suggestion() -> None:
    assert board_sentences({"serial": {"protocol": "alpa"}}) == [
        ("serial.protocol", "Input should be 'alpha' or 'tpm2'; did you mean 'alpha'?")
    ]
    assert board_sentences({"serial": {}}) == [("serial.protocol", "required key is missing")]


def test_a_unions_tag_stays_out_of_the_path_and_its_members_keys_are_suggested() -> None:
    found = board_sentences({"serial": {"protocol": "alpha", "alpha_mode": "blnk", "alpah": 1}})
    assert found == [
        ("serial.alpha_mode", "Input should be 'hold' or 'blink'; did you mean 'blink'?"),
        ("serial.alpah", "unknown key; did you mean 'alpha_mode'?"),
    ]


# --- named forms, not raw patterns ---------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (
            ("[board]", '[mqtt]\nhost = "b"\ntopic_root = "/signage/"\n\n[board]'),
            "mqtt.topic_root",
            "topic",
        ),
        (('id = "hn-badinh-phucxa-01"', 'id = "HN 01"'), "board.id", "lower-case"),
        (
            ("[board]", '[brightness]\nschedule = [{at = "7:00", percent = 50}]\n\n[board]'),
            "brightness.schedule.0.at",
            "HH:MM",
        ),
    ],
)
def test_a_config_value_of_the_wrong_form_is_described_in_words(
    tmp_path: Path, change: tuple[str, str], path: str, words: str
) -> None:
    found = config_problems(tmp_path, BOARD.replace(*change))
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}: "), found
    assert words in found[0], found
    assert not REGEX.search(found[0]), found


@pytest.mark.parametrize(
    ("item", "path", "words"),
    [
        ({"id": "-a"}, "items.0.id", "letter or digit"),
        (
            {"schedule": [{"days": ["mon"], "from": "25:00", "to": "06:00"}]},
            "items.0.schedule.0.from",
            "HH:MM",
        ),
        (
            {"fields": {"text": "x", "image": {"url": "ftp://x", "sha256": "0" * 64}}},
            "items.0.fields.image.url",
            "http",
        ),
    ],
)
def test_a_payload_value_of_the_wrong_form_is_described_in_words(
    item: dict[str, Any], path: str, words: str
) -> None:
    found = payload_errors(playlist(**item))
    messages = [message for where, message in found if where == path]
    assert messages, found
    assert words in messages[0], found
    assert not REGEX.search(messages[0]), found


def _patterns(model: Any) -> list[str]:
    """Every string pattern a model (and what it nests) checks, from its JSON Schema."""
    schema = model.model_json_schema(mode="validation")
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.append(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return found


def test_every_pattern_of_the_inputs_has_words() -> None:
    from agent.messages import Command, Playlist
    from display_layouts.input_problems.translate import FORMS
    from display_layouts.model import LayoutFile
    from display_layouts.zones import zone_types

    models: list[Any] = [AgentConfig, Playlist, Alert, Command, LayoutFile, *zone_types().values()]
    patterns = {p for model in models for p in _patterns(model)}
    assert patterns, "no pattern found: the walk is broken"
    assert patterns <= set(FORMS), sorted(patterns - set(FORMS))


# --- ClockTime: a datetime.time on the inside, "HH:MM" on the wire --------------------------


def test_a_clock_time_is_a_time_inside_and_hh_mm_outside() -> None:
    window = ScheduleWindow.model_validate({"days": ["fri"], "from": "06:00", "to": "21:30"})
    assert (window.from_, window.to) == (time(6, 0), time(21, 30))
    assert json.loads(window.model_dump_json(by_alias=True)) == {
        "days": ["fri"],
        "from": "06:00",
        "to": "21:30",
    }
    step = BrightnessStep.model_validate({"at": "07:05", "percent": 40})
    assert step.at == time(7, 5)
    schema = ScheduleWindow.model_json_schema()["properties"]["from"]
    assert schema["type"] == "string"
    assert schema["pattern"] == r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


@pytest.mark.parametrize("text", ["24:00", "7:00", "07:00:00", "07:60", " 07:00", "０７:００"])
def test_a_clock_time_takes_hh_mm_only(text: str) -> None:
    with pytest.raises(ValidationError):
        ScheduleWindow.model_validate_json(
            json.dumps({"days": ["fri"], "from": text, "to": "21:30"}), strict=True
        )


# --- one exception, one line format ----------------------------------------------------------


def test_one_exception_and_one_line_format() -> None:
    assert InvalidInput is ConfigError is LayoutError is PreviewError is Problems
    problem = Problem("zone 'body': colr", "unknown field 'colr'", "my.yaml", 8)
    assert str(problem) == "my.yaml: zone 'body': colr: unknown field 'colr' (line 8)"
    assert str(Problem("items.0.id", "bad")) == "items.0.id: bad"
    assert Problems([problem]).problems == [str(problem)]


def test_a_rejection_event_carries_path_and_message_only() -> None:
    from datetime import UTC, datetime

    from agent.messages import ContentRejected

    event = ContentRejected(
        at=datetime(2026, 11, 27, tzinfo=UTC),
        topic="signage/v1/content/city",
        channel="city",
        errors=[Problem("items.0.id", "bad", "a-file.json", 3)],
    )
    assert json.loads(event.model_dump_json())["errors"] == [
        {"path": "items.0.id", "message": "bad"}
    ]
