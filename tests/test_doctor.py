"""`signage-agent doctor`: every line a technician reads, against real parts where we can.

The broker checks run against a real Mosquitto (TLS, passwords and the per-board ACL of
examples/mosquitto); the serial checks against a fake TPM2 controller on a pty.
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent import doctor
from agent.config import AgentConfig, load_config
from agent.doctor import Check, Outcome, check_config, check_identity
from agent.doctor.access import Identity
from agent.doctor.broker import check_broker
from agent.doctor.display import DisplayDoctor
from agent.doctor.host import check_clock, check_fonts, check_inbox, check_state_dir
from agent.doctor.serial import ControllerProbe, SerialDoctor, load_probe
from tests.fake_tpm2 import FakeTpm2Controller, probe_tpm2
from tests.hostile.conn_fakes import (
    ACL_NO_COMMAND_READS,
    ACL_NO_WRITES,
    FakeBroker,
    Mode,
    acl_broker,
    board_login,
)
from tests.support import BOARD, REPO, AmqttBroker, Broker, free_port, write_config
from tests.test_e2e_tls import make_certificates

ACL = REPO / "examples" / "mosquitto" / "signage.acl"
PASSWORD = "mật-khẩu-đúng"


def doctor_cli(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", "doctor", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, SDL_VIDEODRIVER="dummy"),
        timeout=60,
        check=False,
    )


def lines(checks: list[Check]) -> str:
    out = io.StringIO()
    for check in checks:
        check.show(out)
    return out.getvalue()


def assert_every_failure_says_what_to_do(report: str) -> None:
    rows = report.splitlines()
    for n, row in enumerate(rows):
        if row.startswith("✗"):
            assert n + 1 < len(rows), row
            assert rows[n + 1].startswith("    → "), row


def config_with(directory: Path, *, port: int | None, extra: str = "", mqtt: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "state").mkdir(exist_ok=True)
    return write_config(directory, port=port, extra=extra, mqtt_extra=mqtt)


def loaded(path: Path) -> AgentConfig:
    return load_config(path, env={})


# --- config and identity ----------------------------------------------------------


def test_a_bad_config_names_the_key_and_exits_1(tmp_path: Path) -> None:
    result = doctor_cli(config_with(tmp_path, port=0))
    assert result.returncode == 1
    assert "✗ config" in result.stdout
    assert "mqtt.port" in result.stdout
    assert "→ fix these, then run doctor again:" in result.stdout
    assert_every_failure_says_what_to_do(result.stdout)
    assert "Traceback" not in result.stderr


def test_a_missing_password_file_says_who_must_read_it(tmp_path: Path) -> None:
    path = config_with(
        tmp_path,
        port=1883,
        mqtt=f'username = "{BOARD["id"]}"\npassword_file = "{tmp_path / "nowhere"}"\n',
    )
    check, config = check_config(path)
    assert config is None
    assert check.outcome is Outcome.FAILED
    assert f"cannot read {tmp_path / 'nowhere'}" in check.fix
    assert "readable by signage-agent" in check.fix


def test_identity_shows_the_board_and_catches_a_user_name_of_another_board(
    tmp_path: Path,
) -> None:
    good = loaded(config_with(tmp_path / "a", port=1883, mqtt=f'username = "{BOARD["id"]}"\n'))
    report = lines(check_identity(good))
    assert f"✓ board {BOARD['id']} “Bảng tin phường Phúc Xá”, district ba-dinh" in report
    assert "✗" not in report
    copied = loaded(config_with(tmp_path / "b", port=1883, mqtt='username = "hn-other-01"\n'))
    report = lines(check_identity(copied))
    assert f"✗ MQTT user name hn-other-01 is not the board id {BOARD['id']}" in report
    assert f'username = "{BOARD["id"]}"' in report


# --- broker -----------------------------------------------------------------------


@pytest.fixture
def city_broker(tmp_path: Path) -> Iterator[Broker]:
    """Mosquitto as examples/mosquitto sets it up: TLS, a password per board, the ACL."""
    certs = tmp_path / "certs"
    certs.mkdir()
    make_certificates(certs)
    passwords = certs / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(passwords), BOARD["id"], PASSWORD],
        check=True,
        capture_output=True,
        timeout=30,
    )
    broker = Broker(
        certs,
        f"cafile {certs / 'ca.crt'}\ncertfile {certs / 'server.crt'}\n"
        f"keyfile {certs / 'server.key'}\nallow_anonymous false\n"
        f"password_file {passwords}\nacl_file {ACL}\n",
    )
    broker.start()
    yield broker
    broker.kill()


def tls_config(directory: Path, broker: Broker, password: str, ca: Path | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "password").write_text(password + "\n", encoding="utf-8")
    ca = ca or broker.conf.parent / "ca.crt"
    mqtt = (
        f'tls = true\nca_file = "{ca}"\nusername = "{BOARD["id"]}"\n'
        f'password_file = "{directory / "password"}"\n'
    )
    return config_with(directory, port=broker.port, mqtt=mqtt)


@pytest.mark.e2e
def test_a_reachable_broker_passes_every_stage_with_timings(
    tmp_path: Path, city_broker: Broker
) -> None:
    result = doctor_cli(tls_config(tmp_path / "board", city_broker, PASSWORD))
    report = result.stdout
    assert re.search(r"✓ broker name 127\.0\.0\.1 resolves to 127\.0\.0\.1 \([\d.]+ ms\)", report)
    assert re.search(rf"✓ TCP connection to 127\.0\.0\.1:{city_broker.port} \([\d.]+ ms\)", report)
    assert "✓ TLS: TLSv1.3, certificate of 127.0.0.1 verified, valid until" in report
    assert f"✓ MQTT log-in as {BOARD['id']} accepted" in report
    assert "✓ subscribed to the board's 11 topics (content, alerts, commands)" in report
    assert "✓ fonts cover Vietnamese" in report
    assert (result.returncode == 1) == ("✗" in report)
    assert_every_failure_says_what_to_do(report)


@pytest.mark.e2e
def test_a_wrong_port_says_nothing_listens_and_what_to_check(tmp_path: Path) -> None:
    result = doctor_cli(config_with(tmp_path, port=free_port()))
    assert result.returncode == 1
    assert "✓ broker name 127.0.0.1 resolves" in result.stdout
    assert "✗ broker 127.0.0.1:" in result.stdout
    assert "refuses TCP connections" in result.stdout
    assert "→ check [mqtt] port (8883 with TLS, 1883 without)" in result.stdout
    assert "MQTT log-in" not in result.stdout  # no stage after the failing one
    assert_every_failure_says_what_to_do(result.stdout)


@pytest.mark.e2e
def test_bad_credentials_are_refused_with_what_to_check(
    tmp_path: Path, city_broker: Broker
) -> None:
    config = loaded(tls_config(tmp_path / "board", city_broker, "sai-mật-khẩu"))
    report = lines(check_broker(config))
    assert "✓ TLS: TLSv1.3" in report
    assert f"✗ broker refused {BOARD['id']}: Not authorized" in report
    assert "→ check [mqtt] username (the board id) and the password in password_file" in report
    assert "subscribed" not in report


@pytest.mark.e2e
def test_a_certificate_from_another_ca_is_explained(tmp_path: Path, city_broker: Broker) -> None:
    other = tmp_path / "other-ca"
    other.mkdir()
    make_certificates(other)
    config = loaded(tls_config(tmp_path / "board", city_broker, PASSWORD, other / "ca.crt"))
    report = lines(check_broker(config))
    # Mosquitto sends its CA along, so OpenSSL sees a chain it does not trust.
    assert re.search(r"✗ TLS: (self-signed certificate in|unable to get local issuer)", report)
    assert "→ [mqtt] ca_file must hold the CA that signed the broker's certificate" in report


@pytest.mark.e2e
def test_tls_against_a_plain_mqtt_port_is_explained(tmp_path: Path, broker: Broker) -> None:
    config = loaded(config_with(tmp_path, port=broker.port, mqtt="tls = true\n"))
    report = lines(check_broker(config))
    assert f"✗ TLS handshake with 127.0.0.1:{broker.port} failed" in report
    assert "→ this port speaks plain MQTT, not TLS" in report


@pytest.mark.e2e
def test_plain_mqtt_is_marked_as_such(tmp_path: Path, broker: Broker) -> None:
    report = lines(check_broker(loaded(config_with(tmp_path, port=broker.port))))
    assert "– TLS off ([mqtt] tls = false): content crosses the network in clear" in report
    assert "✓ MQTT log-in as anonymous accepted" in report
    assert "✗" not in report


def test_a_port_that_does_not_speak_mqtt_times_out_with_advice(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts TCP, says nothing
        port = silent.getsockname()[1]
        config = loaded(config_with(tmp_path, port=port))
        report = lines(check_broker(config, timeout=0.3))
    assert "✓ TCP connection" in report
    assert "✗ no MQTT answer within 0.3 s" in report
    assert "→ the port accepts TCP but does not speak MQTT" in report


def test_an_unknown_broker_name_says_to_check_dns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_such_name(*_args: object, **_kwargs: object) -> None:
        # No DNS query leaves the machine in a test: the resolver's answer is given.
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    path = config_with(tmp_path, port=1883)
    path.write_text(path.read_text().replace('"127.0.0.1"', '"mqtt.city.example"'))
    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    report = lines(check_broker(loaded(path)))
    assert "✗ broker name mqtt.city.example does not resolve: Name or service not known" in report
    assert "→ check [mqtt] host for typos" in report
    assert "TCP" not in report


def test_no_mqtt_section_means_inbox_only(tmp_path: Path) -> None:
    report = lines(check_broker(loaded(config_with(tmp_path, port=None))))
    assert report == "– no [mqtt] section: this board takes content from its inbox only\n"


# --- serial -----------------------------------------------------------------------


def serial_config(tmp_path: Path, port: str) -> AgentConfig:
    extra = (
        f'[serial]\nport = "{port}"\nprotocol = "tpm2"\nbaudrate = 115200\n'
        'panel_width = 64\npanel_height = 32\ncolor = "rgb"\n'
    )
    return loaded(config_with(tmp_path, port=None, extra=extra))


def serial_doctor(
    config: AgentConfig, probe: ControllerProbe | None, proc: Path = Path("/proc")
) -> SerialDoctor:
    assert config.serial is not None
    return SerialDoctor(config.serial, probe, proc=proc, timeout=0.3)


def test_a_controller_that_acknowledges_passes(tmp_path: Path) -> None:
    with FakeTpm2Controller() as controller:
        config = serial_config(tmp_path, controller.port)
        report = lines(serial_doctor(config, probe_tpm2).checks())
    assert f"✓ serial port {controller.port}" in report
    assert "readable and writable" in report
    assert re.search(
        rf"✓ controller on {controller.port} \(tpm2, 115200 baud\): "
        r"acknowledged a frame \(0xAC\) \([\d.]+ ms\)",
        report,
    )
    assert controller.frames == [bytes(3)]


def test_a_silent_controller_fails_with_wiring_advice(tmp_path: Path) -> None:
    with FakeTpm2Controller(acknowledge=False) as controller:
        config = serial_config(tmp_path, controller.port)
        report = lines(serial_doctor(config, probe_tpm2).checks())
    assert f"✗ controller on {controller.port} (tpm2, 115200 baud) does not answer" in report
    assert "→ check the controller's power, the wiring (TX to RX, RX to TX, common ground" in report
    assert_every_failure_says_what_to_do(report)


def test_without_a_serial_layer_the_probe_is_skipped_plainly(tmp_path: Path) -> None:
    with FakeTpm2Controller() as controller:
        report = lines(serial_doctor(serial_config(tmp_path, controller.port), None).checks())
    assert "✓ serial port" in report
    assert "– controller probe skipped: this signage-agent has no serial layer" in report


def test_the_serial_layers_own_probe_is_used_when_present(tmp_path: Path) -> None:
    probe = load_probe()
    if probe is None:
        pytest.skip("firmware_bridge.probe is not there yet")
    with FakeTpm2Controller() as controller:
        config = serial_config(tmp_path, controller.port)
        report = lines(serial_doctor(config, probe).checks())
    assert f"✓ controller on {controller.port} (tpm2, 115200 baud): " in report


def test_a_port_in_use_is_not_probed(tmp_path: Path) -> None:
    with FakeTpm2Controller() as controller:
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_OPEN, controller.port],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline() == "open\n"
            config = serial_config(tmp_path, controller.port)
            report = lines(serial_doctor(config, probe_tpm2).checks())
        finally:
            holder.communicate(timeout=10)
    assert "is open by python" in report
    assert f"(pid {holder.pid})" in report
    assert "– controller probe skipped" in report
    assert "sudo systemctl stop signage-agent" in report
    assert controller.frames == []


HOLD_OPEN = "import sys\nf = open(sys.argv[1], 'rb')\nprint('open', flush=True)\nsys.stdin.read()\n"


def test_a_port_that_is_not_there_says_what_to_plug_or_enable(tmp_path: Path) -> None:
    usb = lines(serial_doctor(serial_config(tmp_path / "a", "/dev/ttyUSB97"), None).checks())
    assert "✗ serial port /dev/ttyUSB97 is not there" in usb
    assert "→ plug the USB serial adapter in" in usb
    assert "/dev/serial/by-id/" in usb
    uart = lines(serial_doctor(serial_config(tmp_path / "b", "/dev/ttyAMA97"), None).checks())
    assert "→ turn the GPIO UART on: sudo raspi-config" in uart


def test_a_port_shared_with_the_linux_console_is_caught(tmp_path: Path) -> None:
    with FakeTpm2Controller() as controller:
        proc = tmp_path / "proc"
        proc.mkdir()
        name = controller.port.removeprefix("/dev/")
        (proc / "cmdline").write_text(f"console={name},115200 console=tty1 root=/dev/mmcblk0p2")
        config = serial_config(tmp_path, controller.port)
        report = lines(serial_doctor(config, probe_tpm2, proc).checks())
    assert f"✗ the Linux console also uses {controller.port}" in report
    assert "→ sudo raspi-config → Interface Options → Serial Port" in report


def test_a_url_port_skips_the_device_checks(tmp_path: Path) -> None:
    report = lines(serial_doctor(serial_config(tmp_path, "socket://127.0.0.1:9"), None).checks())
    assert "– serial port socket://127.0.0.1:9 is a URL: no device to check" in report


def test_device_access_is_judged_by_mode_bits_for_the_service_identity(tmp_path: Path) -> None:
    device = tmp_path / "ttyUSB0"
    device.touch()
    device.chmod(0o660)
    owner = device.stat()
    service = Identity("signage-agent", uid=owner.st_uid + 4242, gids=frozenset({owner.st_gid}))
    stranger = Identity("other", uid=owner.st_uid + 4243, gids=frozenset({owner.st_gid + 4243}))
    assert service.may(device, 6)
    assert not stranger.may(device, 4)
    device.chmod(0o600)
    assert not service.may(device, 6)


# --- display ----------------------------------------------------------------------


def drm_tree(tmp_path: Path, status: str | None) -> tuple[Path, Path]:
    dev, sys_drm = tmp_path / "dev-dri", tmp_path / "sys-drm"
    dev.mkdir()
    sys_drm.mkdir()
    (dev / "card1").touch()
    if status is not None:
        connector = sys_drm / "card1-HDMI-A-1"
        connector.mkdir()
        (connector / "status").write_text(status + "\n")
        (connector / "modes").write_text("1920x1080\n1280x720\n" if status == "connected" else "")
    return dev, sys_drm


def screen_config(tmp_path: Path) -> AgentConfig:
    path = config_with(tmp_path, port=None)
    path.write_text(path.read_text().replace('output = "headless"', 'output = "screen"'))
    return loaded(path)


def display_report(config: AgentConfig, dev: Path, sys_drm: Path, env: dict[str, str]) -> str:
    return lines(DisplayDoctor(config, env=env, dev_dri=dev, sys_drm=sys_drm).checks())


def test_a_kms_screen_that_is_connected_passes(tmp_path: Path) -> None:
    dev, sys_drm = drm_tree(tmp_path, "connected")
    report = display_report(screen_config(tmp_path), dev, sys_drm, {})
    assert report == "✓ display: KMS card1, HDMI-A-1 1920x1080 connected\n"


def test_an_unplugged_screen_says_to_check_the_cable(tmp_path: Path) -> None:
    dev, sys_drm = drm_tree(tmp_path, "disconnected")
    report = display_report(screen_config(tmp_path), dev, sys_drm, {})
    assert "✗ no screen connected (HDMI-A-1: disconnected)" in report
    assert "→ check the screen's power and that its HDMI cable is in HDMI0" in report


def test_no_kms_device_says_how_to_turn_kms_on(tmp_path: Path) -> None:
    report = display_report(screen_config(tmp_path), tmp_path / "none", tmp_path / "none", {})
    assert "✗ no KMS/DRM device" in report
    assert "dtoverlay=vc4-kms-v3d" in report


def test_an_sdl_override_that_forces_headless_is_caught(tmp_path: Path) -> None:
    dev, sys_drm = drm_tree(tmp_path, "connected")
    env = {"SDL_VIDEODRIVER": "dummy"}
    report = display_report(screen_config(tmp_path), dev, sys_drm, env)
    assert "✗ SDL_VIDEODRIVER=dummy is set: the agent would draw headless" in report


def test_headless_and_serial_outputs_need_no_screen(tmp_path: Path) -> None:
    headless = loaded(config_with(tmp_path, port=None))
    assert lines(DisplayDoctor(headless).checks()).startswith("✓ display output headless")


# --- the board computer -----------------------------------------------------------


def test_fonts_cover_vietnamese() -> None:
    check = check_fonts()
    assert check.ok
    assert "NotoSans-Regular.ttf" in check.what


def test_the_clock_line_tells_synchronised_unsynchronised_and_wrong(tmp_path: Path) -> None:
    config = loaded(config_with(tmp_path, port=None))

    def at(year: int) -> Callable[[ZoneInfo], datetime]:
        return lambda zone: datetime(year, 11, 27, 14, 3, tzinfo=zone)

    good = check_clock(config, lambda: True, at(2026))
    assert good.ok
    assert good.what.startswith("clock synchronised (NTP): 14:03 Fri 27/11/2026")
    assert "in Asia/Ho_Chi_Minh" in good.what
    unsynced = check_clock(config, lambda: False, at(2026))
    assert not unsynced.ok
    assert "sudo timedatectl set-ntp true" in unsynced.fix
    unknown = check_clock(config, lambda: None, at(2026))
    assert unknown.outcome is Outcome.SKIPPED
    wrong = check_clock(config, lambda: True, at(1970))
    assert not wrong.ok
    assert "a Pi has no battery clock" in wrong.fix


def test_the_state_folder_line_gives_free_space_or_how_to_make_it(tmp_path: Path) -> None:
    config = loaded(config_with(tmp_path, port=None))
    present = check_state_dir(config)
    assert present.ok
    assert re.search(r"writable by .*, \d+ MB free of \d+ MB", present.what)
    (tmp_path / "state").rmdir()
    missing = check_state_dir(config)
    assert not missing.ok
    assert "sudo install -d -o signage-agent" in missing.fix


def test_an_inbox_outside_the_state_folder_needs_a_drop_in(tmp_path: Path) -> None:
    outside = loaded(config_with(tmp_path / "a", port=None, extra='[inbox]\ndir = "/media/usb"\n'))
    check = check_inbox(outside)
    assert check is not None
    assert not check.ok
    assert "ReadWritePaths=/media/usb" in check.fix
    inside_dir = tmp_path / "b" / "state" / "inbox"
    inside = loaded(
        config_with(tmp_path / "b", port=None, extra=f'[inbox]\ndir = "{inside_dir}"\n')
    )
    check = check_inbox(inside)
    assert check is not None
    assert check.ok


def test_an_inbox_that_is_a_symlink_or_a_file_is_reported(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "real").mkdir(parents=True)
    (state / "inbox").symlink_to(state / "real")
    config = loaded(config_with(tmp_path, port=None, extra=f'[inbox]\ndir = "{state / "inbox"}"\n'))
    check = check_inbox(config)
    assert check is not None
    assert not check.ok
    assert "symbolic link" in check.what
    assert str(state / "real") in check.fix
    (state / "inbox").unlink()
    (state / "inbox").write_text("not a folder")
    check = check_inbox(config)
    assert check is not None
    assert not check.ok
    assert "not a folder" in check.what


# --- the whole report ----------------------------------------------------------------


def test_all_checks_passing_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agent.doctor.host.clock_synced", lambda: True)
    out = io.StringIO()
    status = doctor.run_doctor(config_with(tmp_path, port=None), out, probe_loader=lambda: None)
    assert status == 0, out.getvalue()
    assert out.getvalue().endswith("All checks passed.\n")
    assert "✗" not in out.getvalue()


def test_any_failure_exits_1_and_counts_the_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("agent.doctor.host.clock_synced", lambda: False)
    out = io.StringIO()
    config = config_with(tmp_path, port=free_port())
    status = doctor.run_doctor(config, out, probe_loader=lambda: None)
    assert status == 1
    assert out.getvalue().endswith("2 problem(s): fix the ✗ lines, then run doctor again.\n")
    assert_every_failure_says_what_to_do(out.getvalue())


# --- broker: protocol, limits and permissions proven by round trips ------------------


def broker_report(directory: Path, port: int, mqtt: str = "", **kwargs: float) -> str:
    config = loaded(config_with(directory, port=port, mqtt=mqtt))
    return lines(check_broker(config, **kwargs))


@pytest.mark.e2e
def test_denied_writes_are_a_failure_naming_the_permission(tmp_path: Path) -> None:
    broker = acl_broker(tmp_path / "broker", ACL_NO_WRITES)
    try:
        report = broker_report(tmp_path / "board", broker.port, board_login(tmp_path))
    finally:
        broker.kill()
    assert "✓ subscribed to the board's 11 topics" in report  # reading is allowed
    assert (
        f"✗ broker denies {BOARD['id']} writing signage/v1/board/{BOARD['id']}/events: "
        "Not authorized" in report
    )
    assert "→ the ACL must let" in report
    assert "pattern write signage/v1/board/%u/" in report
    assert_every_failure_says_what_to_do(report)


@pytest.mark.e2e
def test_denied_command_reads_are_caught_by_a_round_trip(tmp_path: Path) -> None:
    """Mosquitto grants the SUBACK of a topic its ACL denies reading: only a message that
    is published and never delivered shows it."""
    broker = acl_broker(tmp_path / "broker", ACL_NO_COMMAND_READS)
    try:
        report = broker_report(tmp_path / "board", broker.port, board_login(tmp_path), timeout=2)
    finally:
        broker.kill()
    assert "✓ subscribed to the board's 11 topics" in report  # the SUBACK lies
    assert "✓ write permission" in report
    cmd = f"signage/v1/board/{BOARD['id']}/cmd"
    assert f"✗ broker denies {BOARD['id']} reading {cmd}: a probe command was accepted" in report
    assert "pattern read signage/v1/board/%u/cmd" in report
    assert_every_failure_says_what_to_do(report)


@pytest.mark.e2e
def test_the_example_acl_passes_with_what_it_cannot_prove_said_plainly(tmp_path: Path) -> None:
    broker = acl_broker(tmp_path / "broker", ACL.read_text())
    try:
        report = broker_report(tmp_path / "board", broker.port, board_login(tmp_path))
    finally:
        broker.kill()
    assert "✓ write permission: the broker accepted a probe" in report  # PUBACK, MQTT 5
    assert "– read permission on" in report
    assert "not testable" in report
    assert "✗" not in report


@pytest.mark.e2e
def test_protocol_and_limits_are_named_with_a_warning_for_small_packets(tmp_path: Path) -> None:
    broker = Broker(tmp_path, "allow_anonymous true\nmax_packet_size 4000\n")
    broker.start()
    try:
        report = broker_report(tmp_path / "board", broker.port)
    finally:
        broker.kill()
    assert "✓ MQTT log-in as anonymous accepted (MQTT 5;" in report
    assert "✓ broker limits: maximum packet size 4000 bytes, receive maximum 20" in report
    assert "! maximum packet size 4000 bytes is below a full screenshot" in report
    assert "✓ write permission proven" in report
    assert "✓ read permission proven" in report


@pytest.mark.e2e
def test_a_3_1_1_only_broker_is_named_and_used(tmp_path: Path) -> None:
    broker = AmqttBroker(tmp_path)
    broker.start()
    try:
        report = broker_report(tmp_path / "board", broker.port)
    finally:
        broker.kill()
    assert "(MQTT 3.1.1: the broker does not speak MQTT 5" in report
    assert "do not announce their maximum packet size" in report
    assert "✓ read permission proven" in report
    assert "✗" not in report


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("silent", "✗ no MQTT answer within 1 s (no CONNACK"),
        ("close", "✗ the broker closed the connection before its CONNACK"),
    ],
)
def test_a_broker_that_fails_the_handshake_is_reported_within_one_deadline(
    tmp_path: Path, mode: Mode, expected: str
) -> None:
    fake = FakeBroker(mode)
    try:
        started = time.monotonic()
        report = broker_report(tmp_path, fake.port, "connect_timeout_s = 1\n")
        took = time.monotonic() - started
    finally:
        fake.close()
    assert expected in report, report
    assert took < 1 + 1.5  # MQTT 5 and 3.1.1 are tried side by side: one deadline
    assert_every_failure_says_what_to_do(report)


def test_a_broker_refusing_mqtt5_is_used_in_3_1_1(tmp_path: Path) -> None:
    fake = FakeBroker("refuse-5")
    try:
        report = broker_report(tmp_path, fake.port, "connect_timeout_s = 2\n")
    finally:
        fake.close()
    assert "accepted (MQTT 3.1.1: the broker does not speak MQTT 5 (Unsupported protocol" in report
