"""systemd/signage-agent.service: what systemd-analyze says, and what the agent relies on."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from tests.support import REPO

UNIT = REPO / "systemd" / "signage-agent.service"
INSTALLED_BIN = "/opt/signage-agent/venv/bin/signage-agent"
MAX_EXPOSURE = 3.0


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: ./scripts/test installs Debian's systemd package")
    return subprocess.run(
        ["systemd-analyze", *args], capture_output=True, text=True, timeout=60, check=False
    )


def directives() -> dict[str, dict[str, list[str]]]:
    """{section: {key: [values in order]}}; repeated keys (DeviceAllow=) keep every value."""
    sections: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    section = ""
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        sections[section][key].append(value)
    return sections


def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    # verify needs ExecStart= to exist; the copy differs from the unit only there.
    agent = REPO / ".venv" / "bin" / "signage-agent"
    assert agent.exists(), "the checkout's .venv (./scripts/test makes it)"
    copy = tmp_path / "signage-agent.service"
    original = UNIT.read_text(encoding="utf-8")
    copy.write_text(original.replace(INSTALLED_BIN, str(agent)), encoding="utf-8")
    changed = [
        (a, b)
        for a, b in zip(original.splitlines(), copy.read_text().splitlines(), strict=True)
        if a != b
    ]
    assert [a for a, _ in changed] == [
        f"ExecStart={INSTALLED_BIN} run --config /etc/signage-agent/agent.toml"
    ]
    result = analyze("verify", str(copy))
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == "", result.stderr


def test_the_security_rating_is_ok_or_better() -> None:
    result = analyze("security", "--offline=true", "--no-pager", str(UNIT))
    assert result.returncode == 0, result.stderr
    found = re.search(
        r"Overall exposure level for signage-agent\.service: (\d+\.\d) (\w+)", result.stdout
    )
    assert found, result.stdout[-500:]
    exposure, rating = float(found[1]), found[2]
    assert exposure <= MAX_EXPOSURE, found[0]
    assert rating in ("OK", "SAFE", "PERFECT"), found[0]
    threshold = analyze(
        "security", "--offline=true", f"--threshold={int(MAX_EXPOSURE * 10)}", str(UNIT)
    )
    assert threshold.returncode == 0


def test_the_check_script_of_scripts_test_passes() -> None:
    result = subprocess.run(
        [str(REPO / "systemd" / "check-unit.sh")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ systemd-analyze verify: no complaints" in result.stdout
    assert re.search(r"✓ systemd-analyze security: \d\.\d (OK|SAFE|PERFECT)", result.stdout)


def test_the_unit_runs_the_agent_as_its_contract_says() -> None:
    unit, service = directives()["Unit"], directives()["Service"]
    assert service["Type"] == ["notify"]
    assert service["ExecStart"] == [f"{INSTALLED_BIN} run --config /etc/signage-agent/agent.toml"]
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert service["WatchdogSec"] == ["30s"]  # the agent pings at half of it
    assert service["Restart"] == ["on-failure"]  # also brings back exit 75 (`restart`)
    assert service["RestartPreventExitStatus"] == ["78"]  # a bad config does not loop
    assert unit["StartLimitIntervalSec"]
    assert unit["StartLimitBurst"]
    assert "StartLimitIntervalSec" not in service


def test_the_unit_gives_the_service_its_user_folders_and_devices() -> None:
    service = directives()["Service"]
    assert service["User"] == ["signage-agent"]
    assert set(service["SupplementaryGroups"][0].split()) == {"dialout", "video", "render", "audio"}
    assert service["StateDirectory"] == ["signage-agent"]
    assert service["ConfigurationDirectory"] == ["signage-agent"]
    assert "PrivateDevices" not in service  # it would hide the serial port and the GPU
    allowed = {value.split()[0] for value in service["DeviceAllow"]}
    assert {"char-drm", "char-ttyUSB", "char-ttyACM", "char-ttyAMA", "char-ttyS"} <= allowed
    assert service["ProtectSystem"] == ["strict"]
    assert service["NoNewPrivileges"] == ["yes"]
    assert service["CapabilityBoundingSet"] == [""]
