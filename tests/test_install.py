"""systemd/install.sh in a scratch root, and the examples it ships.

The installer runs for real (user, venv, pip, unit, `systemctl enable`, doctor), only
under a scratch folder instead of /: a fresh install, a second run that changes
nothing, an upgrade, an uninstall. The examples: every config validates, and the
Mosquitto example keeps each board to its own topics and alerts to the authority.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from tests.support import REPO, Broker, free_port
from tests.test_e2e_tls import make_certificates

pytestmark = pytest.mark.e2e

INSTALL = REPO / "systemd" / "install.sh"
EXAMPLES = REPO / "examples"
PACKAGE_FILES = (
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "agent",
    "display_layouts",
    "firmware_bridge",
    # Copied so the console script the package declares says what is missing on a board
    # (the [fleet] extra) instead of failing to import.
    "fleet",
    "signage_base",
)


# --- helpers --------------------------------------------------------------------------


def run_install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNAGE_")}
    result = subprocess.run(
        [str(INSTALL), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=540,
        env=env,
        check=False,
    )
    if result.returncode not in (0, 3):
        pytest.fail(
            f"install.sh {args} exited {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result


def scratch_root(directory: Path) -> Path:
    """An empty system with Debian's dialout and video groups (and no render group)."""
    (directory / "etc").mkdir(parents=True)
    (directory / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (directory / "etc" / "group").write_text("root:x:0:\ndialout:x:20:\nvideo:x:44:\n")
    return directory


def package_copy(directory: Path, version_suffix: str = "") -> Path:
    """The package's sources, frozen: edits in the checkout do not reach a running test."""
    directory.mkdir(parents=True)
    for name in PACKAGE_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(
                source, directory / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(source, directory / name)
    if version_suffix:
        for path, pattern in (
            (directory / "pyproject.toml", r'^(version = "[^"]+)(")'),
            (directory / "agent" / "__init__.py", r'^(__version__ = "[^"]+)(")'),
        ):
            text = path.read_text(encoding="utf-8")
            path.write_text(re.sub(pattern, rf"\g<1>{version_suffix}\g<2>", text, flags=re.M))
    return directory


def board_config(root: Path) -> Path:
    """A prepared agent.toml whose paths lie inside the scratch root."""
    path = root.parent / "prepared-agent.toml"
    path.write_text(
        '[board]\nid = "hn-badinh-phucxa-01"\ndistrict = "ba-dinh"\ncommune = "phuc-xa"\n'
        'name = "Bảng tin phường Phúc Xá"\n\n[display]\noutput = "headless"\n\n'
        f'[storage]\nstate_dir = "{root}/var/lib/signage-agent"\n',
        encoding="utf-8",
    )
    return path


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every path under root: kind, mode, owner, and content hash or link target."""
    seen: dict[str, tuple[Any, ...]] = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if path.is_symlink():
            detail: Any = str(path.readlink())
        elif path.is_file():
            detail = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            detail = None
        seen[str(path.relative_to(root))] = (info.st_mode, info.st_uid, info.st_gid, detail)
    return seen


def doctor_part(output: str) -> str:
    return output.partition("signage-agent doctor:\n")[2]


def venv_version(root: Path) -> str:
    agent = root / "opt" / "signage-agent" / "venv" / "bin" / "signage-agent"
    result = subprocess.run(
        [str(agent), "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip()


def passwd_entry(root: Path, user: str) -> list[str]:
    for line in (root / "etc" / "passwd").read_text().splitlines():
        if line.startswith(f"{user}:"):
            return line.split(":")
    return []


AS_ROOT = os.geteuid() == 0


# --- a fresh install, and running it again ----------------------------------------------


@pytest.fixture(scope="module")
def fresh(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    base = tmp_path_factory.mktemp("fresh")
    source = package_copy(base / "source")
    root = scratch_root(base / "root")
    return root, run_install(root, "--source", str(source), "--example", "hdmi-lcd")


def test_a_fresh_install_lays_down_user_program_config_unit_and_rules(
    fresh: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, result = fresh
    user = passwd_entry(root, "signage-agent")
    assert user
    assert user[5] == "/var/lib/signage-agent"
    assert user[6] == "/usr/sbin/nologin"
    groups = {
        line.split(":")[0]: line.split(":")[3]
        for line in (root / "etc/group").read_text().splitlines()
    }
    assert all("signage-agent" in groups[g] for g in ("dialout", "video", "render", "audio"))

    assert venv_version(root) == "signage-agent 0.1.0"
    assert (
        str((root / "usr/local/bin/signage-agent").readlink())
        == "/opt/signage-agent/venv/bin/signage-agent"
    )
    unit = root / "etc/systemd/system/signage-agent.service"
    assert unit.read_bytes() == (REPO / "systemd/signage-agent.service").read_bytes()
    assert str(
        (root / "etc/systemd/system/multi-user.target.wants/signage-agent.service").readlink()
    ) == ("/etc/systemd/system/signage-agent.service")
    assert (root / "etc/udev/rules.d/60-signage-agent.rules").read_bytes() == (
        REPO / "systemd/60-signage-agent.rules"
    ).read_bytes()
    assert (root / "opt/signage-agent/examples/mosquitto/signage.acl").exists()
    assert (root / "opt/signage-agent/doc/technician.md").exists()

    config = root / "etc/signage-agent/agent.toml"
    assert config.read_bytes() == (EXAMPLES / "hdmi-lcd.toml").read_bytes()
    assert oct(config.stat().st_mode & 0o777) == "0o640"
    assert oct((root / "etc/signage-agent").stat().st_mode & 0o777) == "0o750"
    state = root / "var/lib/signage-agent"
    assert oct(state.stat().st_mode & 0o777) == "0o750"
    if AS_ROOT:
        uid, gid = int(user[2]), int(user[3])
        assert (config.stat().st_uid, config.stat().st_gid) == (0, gid)
        assert (state.stat().st_uid, state.stat().st_gid) == (uid, gid)
    assert "→ edit it: the board id, district, commune, name and broker" in result.stdout


def test_a_fresh_install_ends_with_doctor_and_says_what_is_left(
    fresh: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, result = fresh
    # The example names credential files that only the technician can bring.
    assert result.returncode == 3
    doctor = doctor_part(result.stdout)
    assert f"✗ config {root}/etc/signage-agent/agent.toml: 2 problem(s)" in doctor
    assert "cannot read /etc/signage-agent/mqtt-password" in doctor
    assert "readable by signage-agent" in doctor
    assert "Installed, but doctor found problems: fix each ✗ line above" in result.stdout


def test_a_second_run_changes_nothing(fresh: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, first = fresh
    before = snapshot(root)
    source = root.parent / "source"
    again = run_install(root, "--source", str(source), "--example", "hdmi-lcd")
    assert "Nothing to change: signage-agent is installed as it should be." in again.stdout
    assert "… installing" not in again.stdout
    assert snapshot(root) == before
    assert again.returncode == first.returncode


# --- upgrade ----------------------------------------------------------------------------


def test_an_upgrade_replaces_program_and_unit_and_keeps_config_and_state(tmp_path: Path) -> None:
    root = scratch_root(tmp_path / "root")
    first = run_install(
        root, "--source", str(package_copy(tmp_path / "v1")), "--config", str(board_config(root))
    )
    doctor = doctor_part(first.stdout)
    assert "✓ config" in doctor
    assert "✓ state folder" in doctor
    assert first.returncode == (3 if "✗" in doctor else 0)

    config = root / "etc/signage-agent/agent.toml"
    config.write_text(config.read_text() + "\n[health]\nheartbeat_interval_s = 60\n")
    edited = config.read_bytes()
    kept = root / "var/lib/signage-agent/content/commune.json"
    kept.parent.mkdir()
    kept.write_text('{"type": "playlist"}')
    unit = root / "etc/systemd/system/signage-agent.service"
    unit.write_text("[Service]\nExecStart=/old\n")

    newer = package_copy(tmp_path / "v2", version_suffix="+fieldfix1")
    # A build/ folder left from an older build must not bring a deleted module back.
    stale = newer / "build" / "lib" / "agent" / "removed_module.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("raise ImportError\n")
    upgrade = run_install(root, "--source", str(newer), "--config", str(board_config(root)))
    assert "✓ signage-agent: upgraded 0.1.0 → 0.1.0+fieldfix1" in upgrade.stdout
    assert venv_version(root) == "signage-agent 0.1.0+fieldfix1"
    site = next((root / "opt/signage-agent/venv/lib").glob("python3*/site-packages"))
    assert (site / "agent" / "cli.py").exists()
    assert not (site / "agent" / "removed_module.py").exists()
    assert "✓ unit /etc/systemd/system/signage-agent.service: updated" in upgrade.stdout
    assert unit.read_bytes() == (REPO / "systemd/signage-agent.service").read_bytes()
    assert config.read_bytes() == edited
    assert "config /etc/signage-agent/agent.toml kept as it is; --config" in upgrade.stdout
    assert kept.read_text() == '{"type": "playlist"}'


# --- uninstall --------------------------------------------------------------------------


def test_uninstall_keeps_config_state_and_user_unless_purged(tmp_path: Path) -> None:
    root = scratch_root(tmp_path / "root")
    source = package_copy(tmp_path / "source")
    run_install(root, "--source", str(source), "--config", str(board_config(root)), "--no-doctor")
    (root / "var/lib/signage-agent/outbox.jsonl").write_text("{}\n")

    removed = run_install(root, "--uninstall")
    assert removed.returncode == 0
    for gone in (
        "etc/systemd/system/signage-agent.service",
        "etc/systemd/system/multi-user.target.wants/signage-agent.service",
        "etc/udev/rules.d/60-signage-agent.rules",
        "usr/local/bin/signage-agent",
        "opt/signage-agent",
    ):
        assert not (root / gone).exists(), gone
        assert not (root / gone).is_symlink(), gone
    assert (root / "etc/signage-agent/agent.toml").exists()
    assert (root / "var/lib/signage-agent/outbox.jsonl").exists()
    assert passwd_entry(root, "signage-agent")
    assert "Kept: /etc/signage-agent (config), /var/lib/signage-agent" in removed.stdout

    assert "Nothing to remove." in run_install(root, "--uninstall").stdout

    purged = run_install(root, "--uninstall", "--purge")
    assert not (root / "etc/signage-agent").exists()
    assert not (root / "var/lib/signage-agent").exists()
    assert not (root / "etc/sysusers.d/signage-agent.conf").exists()
    assert passwd_entry(root, "signage-agent")  # never reuse its uid for someone else
    assert "The user signage-agent stays" in purged.stdout


def test_the_installer_refuses_unknown_options_and_a_missing_package(tmp_path: Path) -> None:
    bad = subprocess.run(
        [str(INSTALL), "--root", str(tmp_path), "--frobnicate"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert "unknown option: --frobnicate" in bad.stderr
    assert "usage: install.sh" in bad.stderr


# --- the example configs -------------------------------------------------------------


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_every_example_config_validates_once_its_credential_files_exist(
    example: str, tmp_path: Path
) -> None:
    # The examples name /etc/signage-agent/ca.pem and mqtt-password, which the technician
    # brings; here they stand in a temporary folder and nothing else is changed.
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "mqtt-password").write_text("secret\n")
    text = (EXAMPLES / example).read_text(encoding="utf-8")
    copy = tmp_path / example
    copy.write_text(text.replace("/etc/signage-agent/", f"{tmp_path}/"), encoding="utf-8")
    result = validate(copy)
    assert result.returncode == 0, result.stdout
    assert f"{copy}: ok (config of board " in result.stdout

    # As shipped, on a machine without those files: valid, with a warning for each file.
    pristine = validate(EXAMPLES / example)
    assert pristine.returncode == 0, pristine.stdout
    warnings = [line for line in pristine.stdout.splitlines() if ": ok (" not in line]
    assert all(
        re.search(r"warning: mqtt\.\w+: cannot read /etc/signage-agent/(ca\.pem|mqtt-password)", w)
        for w in warnings
    )


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )


# --- the Mosquitto example -----------------------------------------------------------


class Client:
    """An MQTT 5 client that records PUBACK reason codes and received messages."""

    def __init__(self, port: int, user: str, password: str, ca: Path) -> None:
        self.acks: dict[int, ReasonCode] = {}
        self.received: list[tuple[str, bytes]] = []
        self._changed = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(user, password)
        self.client.tls_set(ca_certs=str(ca))
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: self._notify()
        self.client.on_connect = lambda *_a: self._notify()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _on_publish(
        self, _c: mqtt.Client, _u: Any, mid: int, reason: ReasonCode, _p: Properties
    ) -> None:
        with self._changed:
            self.acks[mid] = reason
            self._changed.notify_all()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._changed:
            self.received.append((message.topic, bytes(message.payload)))
            self._changed.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float = 10) -> None:
        with self._changed:
            assert self._changed.wait_for(predicate, timeout), "timed out"

    def subscribe(self, *topics: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_a: done.set()
        self.client.subscribe([(t, 1) for t in topics])
        assert done.wait(10)

    def publish(self, topic: str, payload: bytes = b"{}") -> str:
        """The broker's verdict (PUBACK reason) on a QoS 1 publish."""
        self.wait(self.client.is_connected)
        mid = self.client.publish(topic, payload, qos=1).mid
        self.wait(lambda: mid in self.acks)
        return str(self.acks[mid])

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def example_broker(tmp_path: Path) -> Iterator[Broker]:
    """examples/mosquitto/signage.conf with its paths and ports pointing at this test."""
    make_certificates(tmp_path)
    passwords = tmp_path / "passwd"
    for n, (user, password) in enumerate(ACCOUNTS.items()):
        flags = ["-c"] if n == 0 else []
        subprocess.run(
            ["mosquitto_passwd", *flags, "-b", str(passwords), user, password],
            check=True,
            capture_output=True,
            timeout=30,
        )
    tls_port = free_port()
    conf = (EXAMPLES / "mosquitto" / "signage.conf").read_text()
    for old, new in {
        "/etc/mosquitto/passwd": str(passwords),
        "/etc/mosquitto/signage.acl": str(EXAMPLES / "mosquitto" / "signage.acl"),
        "/etc/mosquitto/certs/server.crt": str(tmp_path / "server.crt"),
        "/etc/mosquitto/certs/server.key": str(tmp_path / "server.key"),
        "listener 8883\n": f"listener {tls_port} 127.0.0.1\n",
        "listener 1883 127.0.0.1\n": "",
    }.items():
        assert old in conf
        conf = conf.replace(old, new)
    broker = Broker(tmp_path, conf)
    broker.port = tls_port  # the example's TLS listener, not the helper's plain one
    broker.start()
    yield broker
    broker.kill()


ACCOUNTS = {
    "hn-badinh-phucxa-01": "board-a",
    "hn-badinh-phucxa-02": "board-b",
    "alerting-authority": "authority",
    "dashboard": "dashboard",
}
ROOT = "signage/v1"


def test_the_mosquitto_example_keeps_boards_to_their_own_topics(
    tmp_path: Path, example_broker: Broker
) -> None:
    ca = tmp_path / "ca.crt"
    board = Client(example_broker.port, "hn-badinh-phucxa-01", "board-a", ca)
    dashboard = Client(example_broker.port, "dashboard", "dashboard", ca)
    try:
        ok, denied = "Success", "Not authorized"
        assert board.publish(f"{ROOT}/board/hn-badinh-phucxa-01/status") in (
            ok,
            "No matching subscribers",
        )
        assert board.publish(f"{ROOT}/board/hn-badinh-phucxa-01/heartbeat") != denied
        assert board.publish(f"{ROOT}/board/hn-badinh-phucxa-02/heartbeat") == denied
        assert board.publish(f"{ROOT}/board/hn-badinh-phucxa-01/cmd") == denied
        assert board.publish(f"{ROOT}/content/city") == denied

        board.subscribe(
            f"{ROOT}/board/hn-badinh-phucxa-01/cmd", f"{ROOT}/board/hn-badinh-phucxa-02/cmd"
        )
        assert dashboard.publish(f"{ROOT}/board/hn-badinh-phucxa-02/cmd", b"for b") != denied
        assert dashboard.publish(f"{ROOT}/board/hn-badinh-phucxa-01/cmd", b"for a") != denied
        # Mosquitto handles one publisher's messages in order: once the second is here,
        # the first would have been too, had the ACL let it through.
        board.wait(lambda: (f"{ROOT}/board/hn-badinh-phucxa-01/cmd", b"for a") in board.received)
        assert [payload for _t, payload in board.received] == [b"for a"]
    finally:
        board.close()
        dashboard.close()


def test_the_mosquitto_example_keeps_alerts_to_the_alerting_authority(
    tmp_path: Path, example_broker: Broker
) -> None:
    ca = tmp_path / "ca.crt"
    board = Client(example_broker.port, "hn-badinh-phucxa-01", "board-a", ca)
    dashboard = Client(example_broker.port, "dashboard", "dashboard", ca)
    authority = Client(example_broker.port, "alerting-authority", "authority", ca)
    try:
        alert = f"{ROOT}/alert/city/bao-so-3"
        assert board.publish(alert) == "Not authorized"
        assert dashboard.publish(alert) == "Not authorized"
        board.subscribe(f"{ROOT}/alert/city/+")
        assert authority.publish(alert, b"storm") == "Success"
        board.wait(lambda: (alert, b"storm") in board.received)
    finally:
        board.close()
        dashboard.close()
        authority.close()
