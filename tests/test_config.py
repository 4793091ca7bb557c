from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.config import EX_CONFIG, ConfigError, load_config
from tests.support import REPO

GOOD = """
[board]
id = "hn-badinh-phucxa-01"
district = "ba-dinh"
commune = "phuc-xa"
name = "Bảng tin phường Phúc Xá"

[mqtt]
host = "broker.example"

[display]
output = "headless"
"""


def test_display_audio_turns_clip_sound_on(tmp_path: Path) -> None:
    text = GOOD.replace("[display]", "[display]\naudio = true")
    assert load_config(write(tmp_path, text), {}).display.audio is True


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env or {})
    return caught.value.problems


def test_good_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), {})
    assert config.board.timezone == "Asia/Ho_Chi_Minh"
    assert config.mqtt is not None
    assert config.mqtt.effective_port == 1883
    assert config.mqtt.topic_root == "signage/v1"
    assert config.mqtt.keepalive_s == 30
    assert config.health.heartbeat_interval_s == 30
    assert config.display.fps == 30
    assert config.display.audio is False, "a clip's sound plays only when asked for"
    assert config.storage.state_dir == Path("/var/lib/signage-agent")


def test_tls_changes_the_default_port(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD.replace('"broker.example"', '"b"\ntls = true')), {})
    assert config.mqtt is not None
    assert config.mqtt.effective_port == 8883


def test_no_mqtt_section_means_no_broker(tmp_path: Path) -> None:
    text = GOOD.replace('[mqtt]\nhost = "broker.example"\n', "")
    assert load_config(write(tmp_path, text), {}).mqtt is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("port = 1", "port = 70000"), "mqtt.port: Input should be less than or equal to 65535"),
        (('name = "B', 'nam = "B'), "board.nam: unknown key; did you mean 'name'?"),
        (('id = "hn-badinh-phucxa-01"', 'id = "HN 01"'), "board.id: String should be a slug"),
        (('output = "headless"', 'output = "tv"'), "display.output: Input should be 'screen'"),
        (("[display]", "[display]\nwidth = 100"), "display: Value error, give both"),
        (("[display]", '[display]\naudio = "loud"'), "display.audio: Input should be a valid"),
    ],
)
def test_errors_name_file_and_key_path(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    text = GOOD.replace('host = "broker.example"', 'host = "broker.example"\nport = 1')
    found = problems(tmp_path, text.replace(*change))
    path = tmp_path / "agent.toml"
    assert any(p.startswith(f"{path}: ") and expected.split(": ", 1)[0] in p for p in found)
    assert any(expected.split(": ", 1)[1].removeprefix("Value error, ") in p for p in found), found


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace('district = "ba-dinh"', 'district = "Ba Đình"').replace(
        '"headless"', '"tv"'
    )
    found = problems(tmp_path, text)
    assert len(found) == 2
    assert {p.split(": ")[1] for p in found} == {"board.district", "display.output"}


def test_missing_section_and_invalid_toml(tmp_path: Path) -> None:
    assert problems(tmp_path, "[mqtt]\nhost='x'\n")[0].endswith("board: required key is missing")
    found = problems(tmp_path, "[board\n")
    assert "invalid TOML" in found[0]


def test_environment_overrides_keys_and_is_named_in_errors(tmp_path: Path) -> None:
    env = {"SIGNAGE_MQTT__PORT": "1884", "SIGNAGE_HEALTH__HEARTBEAT_INTERVAL_S": "5"}
    config = load_config(write(tmp_path, GOOD), env)
    assert config.mqtt is not None
    assert config.mqtt.port == 1884
    assert config.health.heartbeat_interval_s == 5
    found = problems(tmp_path, GOOD, {"SIGNAGE_MQTT__KEEPALIVE_S": "soon"})
    assert found[0].startswith("SIGNAGE_MQTT__KEEPALIVE_S (environment): mqtt.keepalive_s:")


def test_heartbeat_interval_accepts_one_second_but_not_less(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), {"SIGNAGE_HEALTH__HEARTBEAT_INTERVAL_S": "1"})
    assert config.health.heartbeat_interval_s == 1
    problems(tmp_path, GOOD, {"SIGNAGE_HEALTH__HEARTBEAT_INTERVAL_S": "0.5"})


def test_unreadable_password_file_is_a_config_error(tmp_path: Path) -> None:
    text = GOOD.replace(
        'host = "broker.example"', 'host = "b"\nusername = "u"\npassword_file = "/nonexistent"'
    )
    assert "mqtt.password_file: cannot read /nonexistent" in problems(tmp_path, text)[0]


def run_agent(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_bad_config_exits_78_with_one_line_per_problem_and_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('"headless"', '"tv"'))
    result = run_agent(path)
    assert result.returncode == EX_CONFIG
    assert f"{path}: display.output:" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_config_file_exits_78(tmp_path: Path) -> None:
    result = run_agent(tmp_path / "none.toml")
    assert result.returncode == EX_CONFIG
    assert "cannot read" in result.stderr


# --- password file: the first line is the password (issue 20) ----------------------------


def password_config(tmp_path: Path, content: str, port: int | None = None) -> Path:
    secret = tmp_path / "mqtt-password"
    secret.write_text(content, encoding="utf-8")
    host = f'host = "127.0.0.1"\nport = {port}' if port else 'host = "broker.example"'
    return write(
        tmp_path,
        GOOD.replace(
            'host = "broker.example"',
            f'{host}\nusername = "hn-badinh-phucxa-01"\npassword_file = "{secret}"',
        ),
    )


@pytest.mark.parametrize(
    "content",
    ["mật-khẩu\n", "mật-khẩu", "mật-khẩu\r\n", "mật-khẩu\nsecond line\n", "mật-khẩu\r\nnote\r\n"],
)
def test_the_password_is_the_first_line_of_the_file(tmp_path: Path, content: str) -> None:
    mqtt = load_config(password_config(tmp_path, content), {}).mqtt
    assert mqtt is not None
    assert mqtt.password() == "mật-khẩu"


def test_doctor_says_when_the_password_file_has_more_than_one_line(tmp_path: Path) -> None:
    from agent.doctor.password import check_password_file

    one = load_config(password_config(tmp_path, "secret\n"), {})
    assert check_password_file(one) == []
    two = load_config(password_config(tmp_path, "secret\nold-secret\n"), {})
    (check,) = check_password_file(two)
    assert check.ok
    assert "has 2 lines: the board logs in with the first line only" in check.what
    empty = load_config(password_config(tmp_path, "\nsecret\n"), {})
    (check,) = check_password_file(empty)
    assert not check.ok
    assert "first line is empty" in check.what
    assert check.fix


@pytest.mark.e2e
def test_a_board_with_a_two_line_password_file_logs_in(tmp_path: Path) -> None:
    """Real Mosquitto with password authentication; the session the board opens."""
    from agent.doctor.broker import check_broker
    from tests.support import Broker

    passwords = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(passwords), "hn-badinh-phucxa-01", "mật-khẩu"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    broker = Broker(tmp_path, f"allow_anonymous false\npassword_file {passwords}\n")
    broker.start()
    try:
        config = load_config(password_config(tmp_path, "mật-khẩu\nnote\n", broker.port), {})
        assert config.mqtt is not None
        checks = check_broker(config, timeout=10)
        assert all(check.ok for check in checks), checks
        assert any("log-in as hn-badinh-phucxa-01 accepted" in check.what for check in checks)
    finally:
        broker.kill()


def test_the_board_name_is_nfc_without_control_characters(tmp_path: Path) -> None:
    nfd = GOOD.replace('name = "Bảng tin phường Phúc Xá"', 'name = "Phu\\u0301c Xa\\u0301"')
    assert load_config(write(tmp_path, nfd), {}).board.name == "Phúc Xá"
    bad = GOOD.replace('name = "Bảng tin phường Phúc Xá"', 'name = "Phúc\\u001b[2J Xá"')
    (problem,) = problems(tmp_path, bad)
    assert "board.name: contains control character U+001B" in problem
