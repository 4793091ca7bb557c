"""`signage-agent verify` and `validate` of signed files (CONTRACT §7), as a user runs
them: what they print and their exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support import REPO
from tests.test_cli import cli
from tests.trust_signer import SigningKey, keyring

ALERT = (REPO / "docs" / "examples" / "alert-city-storm.json").read_bytes()
CAP = sorted((REPO / "docs" / "examples" / "cap").glob("*.xml"))[0].read_bytes()
ALERTS = SigningKey("alerts")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(
        '[board]\nid = "hn-01"\ndistrict = "ba-dinh"\ncommune = "phuc-xa"\nname = "B"\n'
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        "[trust]\nrequire_signatures = true\n"
        f'[[trust.keys]]\nkid = "alerts"\npublic_key = "{ALERTS.write_jwk(tmp_path)}"\n'
        'may_sign = ["alert", "command"]\nscopes = ["district"]\n',
        encoding="utf-8",
    )
    return path


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_verify_says_a_signed_alert_is_accepted_and_why(tmp_path: Path, config: Path) -> None:
    message = write(tmp_path, "alert.jws", ALERTS.sign(ALERT))
    result = cli("verify", "--config", str(config), message)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        f"{message}: accepted (signed by alerts, which may sign alert (its scopes: district; "
        "give --topic to check them); alert bao-so-3-2026-11-27 (alert, severe))\n"
    )


def test_verify_checks_the_scope_of_the_topic(tmp_path: Path, config: Path) -> None:
    message = write(tmp_path, "alert.jws", ALERTS.sign(ALERT))
    city = cli("verify", "--config", str(config), "--topic", "signage/v1/alert/city/x", message)
    assert city.returncode == 1
    assert city.stdout.endswith(
        "refused: outside its scopes: key 'alerts' signs for district, not city\n"
    )
    district = "signage/v1/alert/district/ba-dinh/x"
    assert cli("verify", "--config", str(config), "--topic", district, message).returncode == 0


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (ALERT, "unsigned: a message without a signature; this board requires them"),
        (SigningKey("alerts").sign(ALERT), "bad signature: key 'alerts' did not sign these bytes"),
        (SigningKey("x").sign(ALERT), "unknown kid: no trusted key is called 'x'"),
    ],
)
def test_verify_says_why_a_message_is_refused(
    tmp_path: Path, config: Path, data: bytes, reason: str
) -> None:
    message = write(tmp_path, "m", data)
    result = cli("verify", "--config", str(config), message)
    assert result.returncode == 1
    assert result.stdout == f"{message}: refused: {reason}\n"


def test_verify_refuses_an_old_signed_command(tmp_path: Path, config: Path) -> None:
    issued = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    command = {"type": "command", "id": "c-1", "command": "ping", "issued_at": issued}
    message = write(tmp_path, "cmd.jws", ALERTS.sign(json.dumps(command).encode()))
    result = cli("verify", "--config", str(config), message)
    assert result.returncode == 1
    assert "refused: issued_at: issued at" in result.stdout
    assert "older than [trust] command_max_age_s (300 s)" in result.stdout


def test_verify_with_a_bad_config_exits_78(tmp_path: Path) -> None:
    bad = tmp_path / "agent.toml"
    bad.write_text('[board]\nid = "hn-01"\n[trust]\nrequire_signatures = true\n', encoding="utf-8")
    result = cli("verify", "--config", str(bad), write(tmp_path, "m", ALERT))
    assert result.returncode == 78
    assert "trust: require_signatures = true needs at least one [[trust.keys]]" in result.stderr


def test_validate_checks_the_inner_message_of_a_signed_file(tmp_path: Path) -> None:
    good = write(tmp_path, "good.jws", ALERTS.sign(ALERT))
    cap = write(tmp_path, "cap.jws", ALERTS.sign(CAP))
    bad = write(tmp_path, "bad.jws", ALERTS.sign(b'{"type": "alert", "id": "x"}'))
    result = cli("validate", good, cap, bad)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"{good}: ok (alert bao-so-3-2026-11-27 (alert, severe), signed by alerts, "
        "signature not checked (give --config))"
    )
    assert lines[1].startswith(f"{cap}: ok (CAP alert ")
    assert lines[2].startswith(f"{bad}: ")
    assert "msg_type" in result.stdout


def test_validate_with_a_config_checks_the_signature_too(tmp_path: Path, config: Path) -> None:
    forged = write(tmp_path, "forged.jws", SigningKey("alerts").sign(ALERT))
    ring = write(tmp_path, "ring.jws", ALERTS.sign(keyring(1, [], [])))
    result = cli("validate", "--config", str(config), forged, ring)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{forged}: $: bad signature: key 'alerts' did not sign these bytes",
        f"{ring}: $: not allowed to sign this kind: key 'alerts' may sign alert, command, "
        "not keyring",
    ]


# --- doctor ----------------------------------------------------------------------------------


def _report(config: Path) -> str:
    from agent.config import load_config
    from agent.doctor.trust import check_trust
    from tests.test_doctor import lines

    return lines(check_trust(load_config(config, env={})))


def test_doctor_warns_a_board_without_trust(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(
        '[board]\nid = "hn-01"\ndistrict = "ba-dinh"\ncommune = "phuc-xa"\nname = "B"\n',
        encoding="utf-8",
    )
    shown = _report(path)
    assert shown.startswith("! no [trust] section: this board shows whatever anyone")
    assert "→ add [trust] with the city's keys" in shown


def test_doctor_lists_the_keys_and_the_kept_keyring(tmp_path: Path, config: Path) -> None:
    shown = _report(config)
    assert shown.splitlines()[:3] == [
        "✓ signatures required: unsigned messages from the broker are refused",
        "✓ trust key alerts may sign alert, command",
        "! no [trust] key may sign keyring: keys can only be changed in this file",
    ]
    assert "– no keyring kept yet: only the config's keys are trusted" in shown
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "trust-keyring.json").write_bytes(
        keyring(7, [(SigningKey("content"), ["playlist"])], [])
    )
    assert "✓ keyring version 7 kept: trusts alerts, content" in _report(config)
