"""`[serial]`: each protocol's own keys, checked when the config loads (issue 11, item 2).

A misspelt key or value, a key of another protocol, an unknown protocol or a line the
protocol cannot work over fails `load_config` (and so `validate` and `run`, exit 78)
with the key path and, where one is close, the word that was meant.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.config import EX_CONFIG, ConfigError, load_config, validate_config
from tests.support import REPO

BOARD = """
[board]
id = "hn-hoankiem-hangbac-02"
district = "hoan-kiem"
commune = "hang-bac"
name = "Bảng LED phố Hàng Bạc"

[display]
output = "serial"
"""

SECTIONS = {
    "tpm2": {
        "port": '"/dev/ttyUSB0"',
        "protocol": '"tpm2"',
        "baudrate": "921600",
        "panel_width": "64",
        "panel_height": "32",
        "color": '"rgb"',
        "ack": '"wait"',
        "ack_timeout_s": "0.5",
        "gamma": "2.4",
    },
    "alpha": {
        "port": '"/dev/serial0"',
        "protocol": '"alpha"',
        "baudrate": "9600",
        "panel_width": "128",
        "panel_height": "32",
        "color": '"tricolor"',
        "bytesize": "7",
        "parity": '"even"',
        "alpha_mode": '"hold"',
        "alpha_color": '"green"',
        "alpha_position": '"middle"',
        "alpha_address": '"0A"',
        "alpha_packet_gap_s": "0.2",
    },
    "adalight": {
        "port": '"/dev/ttyACM0"',
        "protocol": '"adalight"',
        "baudrate": "115200",
        "panel_width": "16",
        "panel_height": "16",
        "color": '"rgb"',
        "threshold": "100",
        "dither": '"ordered"',
    },
}


def config_text(kind: str, /, **changes: str | None) -> str:
    """The board with a `[serial]` of protocol `kind`; a change of None removes the key."""
    keys = SECTIONS[kind] | changes
    lines = "".join(f"{key} = {value}\n" for key, value in keys.items() if value is not None)
    return f"{BOARD}\n[serial]\n{lines}"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env or {}, files_elsewhere=True)
    found = caught.value.problems
    assert all(p.startswith(f"{path}: ") or "(environment)" in p for p in found), found
    return [p.removeprefix(f"{path}: ") for p in found]


# --- each protocol's own keys ------------------------------------------------------------------


def test_each_protocol_takes_its_own_keys(tmp_path: Path) -> None:
    tpm2 = load_config(write(tmp_path, config_text("tpm2")), {}).serial
    assert tpm2 is not None
    assert tpm2.protocol == "tpm2"
    assert (tpm2.ack, tpm2.ack_timeout_s, tpm2.gamma) == ("wait", 0.5, 2.4)
    alpha = load_config(write(tmp_path, config_text("alpha")), {}).serial
    assert alpha is not None
    assert alpha.protocol == "alpha"
    assert (alpha.alpha_mode, alpha.alpha_color, alpha.alpha_position) == (
        "hold",
        "green",
        "middle",
    )
    assert (alpha.alpha_address, alpha.alpha_packet_gap_s, alpha.line_format) == ("0A", 0.2, "7E1")
    adalight = load_config(write(tmp_path, config_text("adalight")), {}).serial
    assert adalight is not None
    assert adalight.protocol == "adalight"
    assert (adalight.threshold, adalight.dither, adalight.size) == (100, "ordered", (16, 16))


def test_the_optional_keys_default_as_documented(tmp_path: Path) -> None:
    optional = ("bytesize", "parity", "alpha_mode", "alpha_color", "alpha_position")
    text = config_text("alpha", **dict.fromkeys((*optional, "alpha_address", "alpha_packet_gap_s")))
    alpha = load_config(write(tmp_path, text), {}).serial
    assert alpha is not None
    assert alpha.protocol == "alpha"
    assert (alpha.alpha_mode, alpha.alpha_color, alpha.alpha_position) == ("auto", "amber", "fill")
    assert (alpha.alpha_address, alpha.alpha_packet_gap_s, alpha.line_format) == ("00", 0.15, "8N1")
    tpm2 = load_config(write(tmp_path, config_text("tpm2", ack=None, ack_timeout_s=None)), {})
    assert tpm2.serial is not None
    assert tpm2.serial.protocol == "tpm2"
    assert (tpm2.serial.ack, tpm2.serial.ack_timeout_s) == ("auto", 0.25)


@pytest.mark.parametrize(
    ("protocol", "typo", "meant"),
    [
        ("tpm2", "ack_timout_s", "ack_timeout_s"),
        ("alpha", "alpha_mod", "alpha_mode"),
        ("adalight", "gama", "gamma"),
        ("adalight", "baudrat", "baudrate"),
    ],
)
def test_a_misspelt_key_gets_the_key_that_was_meant(
    tmp_path: Path, protocol: str, typo: str, meant: str
) -> None:
    found = problems(tmp_path, config_text(protocol, **{typo: "1"}))
    assert found == [f"serial.{typo}: unknown key; did you mean '{meant}'?"]


@pytest.mark.parametrize(
    ("protocol", "key", "value", "expected"),
    [
        ("alpha", "alpha_mode", '"hodl"', "did you mean 'hold'?"),
        ("alpha", "alpha_color", '"gren"', "did you mean 'green'?"),
        ("alpha", "alpha_position", '"midle"', "did you mean 'middle'?"),
        ("tpm2", "ack", '"wiat"', "did you mean 'wait'?"),
        ("tpm2", "color", '"RGB"', "did you mean 'rgb'?"),
        ("adalight", "parity", '"evn"', "did you mean 'even'?"),
        ("adalight", "dither", '"orderd"', "did you mean 'ordered'?"),
    ],
)
def test_a_misspelt_value_gets_the_value_that_was_meant(
    tmp_path: Path, protocol: str, key: str, value: str, expected: str
) -> None:
    [found] = problems(tmp_path, config_text(protocol, **{key: value}))
    assert found.startswith(f"serial.{key}: "), found
    assert expected in found, found


def test_an_alpha_mode_without_a_close_match_lists_the_modes(tmp_path: Path) -> None:
    # Before: accepted, then a warning at run time and the sign on `auto`.
    [found] = problems(tmp_path, config_text("alpha", alpha_mode='"blnk"'))
    assert found.startswith("serial.alpha_mode: not an Alpha display mode: auto, rotate, hold, ")
    assert "flash" in found
    assert "'blnk'" in found


@pytest.mark.parametrize(
    ("protocol", "key", "value", "owner"),
    [
        ("tpm2", "alpha_mode", '"hold"', "alpha"),
        ("adalight", "alpha_packet_gap_s", "0.2", "alpha"),
        ("alpha", "ack", '"off"', "tpm2"),
        ("alpha", "ack_timeout_s", "1.0", "tpm2"),
    ],
)
def test_a_key_of_another_protocol_is_refused_by_name(
    tmp_path: Path, protocol: str, key: str, value: str, owner: str
) -> None:
    found = problems(tmp_path, config_text(protocol, **{key: value}))
    assert found == [
        f"serial.{key}: only for protocol '{owner}' (this [serial] has protocol '{protocol}')"
    ]


def test_an_unknown_protocol_gets_the_one_that_was_meant(tmp_path: Path) -> None:
    [found] = problems(tmp_path, config_text("alpha", protocol='"alpa"'))
    assert found.startswith("serial.protocol: not a serial protocol; did you mean 'alpha'?")
    [found] = problems(tmp_path, config_text("alpha", protocol='"vendorx"'))
    assert found.startswith("serial.protocol: not a serial protocol: tpm2, alpha, adalight")


def test_a_missing_protocol_is_named(tmp_path: Path) -> None:
    assert problems(tmp_path, config_text("tpm2", protocol=None)) == [
        "serial.protocol: required key is missing"
    ]


def test_every_problem_of_the_section_is_reported_at_once(tmp_path: Path) -> None:
    text = config_text("alpha", alpha_mode='"hodl"', ack='"off"', panel_width="4", prt='"x"')
    found = problems(tmp_path, text)
    assert {p.split(": ")[0] for p in found} == {
        "serial.alpha_mode",
        "serial.ack",
        "serial.panel_width",
        "serial.prt",
    }, found


def test_problems_keep_their_key_path_under_the_protocol(tmp_path: Path) -> None:
    found = problems(tmp_path, config_text("tpm2", panel_height=None, gamma="9"))
    assert sorted(found) == [
        "serial.gamma: Input should be less than or equal to 4 (got 9)",
        "serial.panel_height: required key is missing",
    ]


def test_an_environment_override_is_checked_like_the_file(tmp_path: Path) -> None:
    env = {"SIGNAGE_SERIAL__ALPHA_MODE": "hodl"}
    found = problems(tmp_path, config_text("alpha"), env)
    assert found == [
        "SIGNAGE_SERIAL__ALPHA_MODE (environment): serial.alpha_mode: not an Alpha display "
        "mode; did you mean 'hold'? (got 'hodl')"
    ]
    config = load_config(
        write(tmp_path, config_text("alpha")), {"SIGNAGE_SERIAL__ALPHA_MODE": "scroll"}
    )
    assert config.serial is not None
    assert config.serial.protocol == "alpha"
    assert config.serial.alpha_mode == "scroll"


# --- the line each protocol needs ----------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["tpm2", "adalight"])
def test_binary_protocols_need_eight_data_bits(tmp_path: Path, protocol: str) -> None:
    [found] = problems(tmp_path, config_text(protocol, bytesize="7", parity='"even"'))
    assert found.startswith("serial.bytesize: "), found
    assert "8 data bits" in found, found
    config = load_config(write(tmp_path, config_text(protocol, parity='"even"', stopbits="2")), {})
    assert config.serial is not None
    assert config.serial.line_format == "8E2"


@pytest.mark.parametrize("line", [("7", '"even"', "1"), ("7", '"even"', "2"), ("8", '"none"', "1")])
def test_alpha_signs_take_the_line_formats_they_are_met_with(
    tmp_path: Path, line: tuple[str, str, str]
) -> None:
    bytesize, parity, stopbits = line
    text = config_text("alpha", bytesize=bytesize, parity=parity, stopbits=stopbits)
    config = load_config(write(tmp_path, text), {})
    assert config.serial is not None
    assert config.serial.line_format == f"{bytesize}{parity[1].upper()}{stopbits}"


def test_alpha_refuses_a_baud_rate_no_sign_runs_at(tmp_path: Path) -> None:
    [found] = problems(tmp_path, config_text("alpha", baudrate="921600"))
    assert found.startswith("serial.baudrate: "), found
    assert "115200" in found, found
    load_config(write(tmp_path, config_text("alpha", baudrate="115200")), {})


# --- the command line: validate and run -----------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy"),
        timeout=60,
        check=False,
    )


def test_validate_and_run_refuse_a_misspelt_alpha_mode(tmp_path: Path) -> None:
    path = write(tmp_path, config_text("alpha", alpha_mode='"hodl"'))
    checked = cli("validate", str(path))
    assert checked.returncode == 1
    assert f"{path}: serial.alpha_mode: not an Alpha display mode; did you mean 'hold'?" in (
        checked.stdout
    )
    ran = cli("run", "--config", str(path))
    assert ran.returncode == EX_CONFIG
    assert "serial.alpha_mode" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_the_example_configs_validate() -> None:
    examples = sorted((REPO / "examples").glob("*.toml"))
    assert len(examples) >= 3
    checked = cli("validate", *map(str, examples))
    assert checked.returncode == 0, checked.stdout + checked.stderr


# --- layering: firmware_bridge stands below the agent ----------------------------------------


def test_firmware_bridge_imports_nothing_from_the_agent() -> None:
    upward = []
    for path in sorted((REPO / "firmware_bridge").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            upward += [
                f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] == "agent"
            ]
    assert upward == []


PROBE = """
import json, sys
from pathlib import Path
from agent.config import load_config
import agent.cli, agent.core
config = load_config(Path(sys.argv[1]), {}, files_elsewhere=True)
print(json.dumps(sorted(sys.modules)))
"""
SERIAL_STACK = {
    "serial",  # pyserial
    "firmware_bridge.transport",
    "firmware_bridge.output",
    "firmware_bridge.protocols.base",
    "firmware_bridge.protocols.tpm2",
    "firmware_bridge.protocols.alpha",
    "firmware_bridge.protocols.adalight",
}


@pytest.mark.parametrize("example", ["hdmi-lcd.toml", "alpha-led-128x32.toml"])
def test_loading_a_config_loads_no_serial_stack(example: str) -> None:
    """Memory: only boards that open a controller load pyserial and the protocol code (a
    `[serial]` section alone is checked with the protocols' settings modules, and a
    config without one loads none of them)."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO / "examples" / example)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy"),
        timeout=60,
        check=True,
    )
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert loaded & SERIAL_STACK == set()
    if example == "hdmi-lcd.toml":  # nor the protocols' settings models, without [serial]
        assert not [name for name in loaded if name.startswith("firmware_bridge.protocols")]


# --- the same settings outside the config -----------------------------------------------------


def test_the_probe_refuses_a_line_or_protocol_it_cannot_use_in_words() -> None:
    from firmware_bridge.probe import probe_controller

    ok, why = probe_controller("loop://", "tpm2", 115200, 0.1, bytesize=7, parity="even")
    assert not ok
    assert why == "TPM2 frames are binary: the line needs 8 data bits"
    ok, why = probe_controller("loop://", "vendorx", 115200, 0.1)
    assert not ok
    assert why == "unknown serial protocol 'vendorx'"


def test_alpha_names_and_codes_are_one_table() -> None:
    from typing import get_args

    from firmware_bridge.protocols.alpha import commands
    from firmware_bridge.protocols.alpha_settings import POSITIONS, AlphaPosition

    assert set(get_args(AlphaPosition)) == set(POSITIONS)
    assert commands.write_text(b"A", "top", "twinkle", b"X") == b'AA\x1b"n0X'


@pytest.mark.parametrize("kind", list(SECTIONS))
def test_a_loaded_config_dumps_and_loads_again(tmp_path: Path, kind: str) -> None:
    """As the demo does: `model_dump()` then `validate_config` gives the same settings."""
    config = load_config(write(tmp_path, config_text(kind)), {})
    again = validate_config(config.model_dump(), "dumped", {})
    assert again.serial == config.serial
    assert type(again.serial) is type(config.serial)
