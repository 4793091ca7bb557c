"""Transport hardening (issue 13): the broker's name is verified, nothing older than
TLS 1.2 is spoken, a board logs in with its own certificate under a per-board ACL by the
certificate's name, its private key may not be open to every user, and no secret reaches
a log line, a doctor report or a published message.

Against real Mosquitto brokers with a private CA (tests/city_ca.py), real agent
processes and the real `doctor`; the TLS 1.1 broker is a Python TLS server, since
Mosquitto's `tls_version` is a minimum and cannot offer TLS 1.1 alone.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.config import ConfigError, MqttConfig, load_config
from agent.doctor import check_identity
from agent.doctor.broker import check_broker
from agent.doctor.check import Check
from agent.doctor.password import check_password_permissions
from agent.doctor.tls import check_board_certificate
from agent.mqtt_tls import MINIMUM_TLS, tls_context
from tests.city_ca import CityCA, tls_1_1_server, weak_client_context
from tests.support import (
    BOARD,
    COMMUNE_TOPIC,
    REPO,
    AgentProcess,
    Broker,
    Observer,
    board_topic,
    event_matcher,
    free_port,
    playlist,
    text_item,
    wait_online,
    wait_until,
    write_config,
)

EXAMPLES = REPO / "examples" / "mosquitto"
ACL = EXAMPLES / "signage.acl"
OTHER_BOARD = "hn-hoankiem-hangbac-02"
PASSWORD = "mật-khẩu-bí-mật-7Qx"
SECOND_LINE = "ghi-chú-bí-mật-không-được-lộ"  # below the password: a secret too


def report(checks: list[Check]) -> str:
    from tests.test_doctor import lines

    return lines(checks)


def doctor_cli(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", "doctor", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, SDL_VIDEODRIVER="dummy"),
        timeout=90,
        check=False,
    )


def board_config(directory: Path, port: int, mqtt: str, *, host: str = "127.0.0.1") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "state").mkdir(exist_ok=True)
    config = write_config(directory, port=port, mqtt_extra=mqtt)
    if host != "127.0.0.1":
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace('host = "127.0.0.1"', f'host = "{host}"'), "utf-8")
    return config


def tls_keys(ca: Path, cert: Path | None = None, key: Path | None = None) -> str:
    text = f'tls = true\nca_file = "{ca}"\n'
    if cert is not None and key is not None:
        text += f'cert_file = "{cert}"\nkey_file = "{key}"\n'
    return text


@pytest.fixture
def city(tmp_path: Path) -> CityCA:
    return CityCA(tmp_path / "city-ca")


# --- the context: verification that cannot be turned off ---------------------------


def test_the_boards_tls_context_verifies_the_broker_and_refuses_old_tls(city: CityCA) -> None:
    context = tls_context(MqttConfig(host="mqtt.city.example", tls=True, ca_file=city.ca))
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    assert MINIMUM_TLS is ssl.TLSVersion.TLSv1_2
    assert context.check_hostname is True
    assert context.verify_mode is ssl.CERT_REQUIRED


BOARD_EXAMPLES = sorted((REPO / "examples").glob("*.toml"))


@pytest.mark.parametrize("example", BOARD_EXAMPLES, ids=[p.name for p in BOARD_EXAMPLES])
def test_every_example_board_config_speaks_tls_on_port_8883(example: Path) -> None:
    mqtt = load_config(example, env={}, files_elsewhere=True).mqtt
    assert mqtt is not None
    assert mqtt.tls is True
    assert mqtt.port == 8883
    assert mqtt.ca_file == Path("/etc/signage-agent/ca.pem")


@pytest.mark.parametrize("example", ["signage.conf", "signage-certificates.conf"])
def test_the_mosquitto_examples_offer_tls_1_2_or_newer_only_on_their_internet_port(
    example: str,
) -> None:
    text = (EXAMPLES / example).read_text(encoding="utf-8")
    internet_port = text.split("listener 8883\n")[1].split("\nlistener ")[0]
    assert "\ntls_version tlsv1.2\n" in internet_port
    assert "listener 1883 127.0.0.1\n" in text  # plain MQTT only on the broker's own host


# --- the key file and the other TLS files, at config load ---------------------------


def key_problem(tmp_path: Path, city: CityCA, mode: int) -> str | None:
    cert, key = city.board_certificate(BOARD["id"])
    key.chmod(mode)
    path = board_config(tmp_path / f"mode-{mode:o}", 8883, tls_keys(city.ca, cert, key))
    try:
        load_config(path, env={})
    except ConfigError as exc:
        return "\n".join(exc.problems)
    return None


def test_a_private_key_every_user_can_read_is_refused(tmp_path: Path, city: CityCA) -> None:
    problem = key_problem(tmp_path, city, 0o644) or ""
    assert "mqtt.key_file" in problem
    assert "is open to every user on the board (mode 0644)" in problem
    assert "chmod 600" in problem


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o400])
def test_a_private_key_for_its_owner_or_group_is_accepted(
    tmp_path: Path, city: CityCA, mode: int
) -> None:
    assert key_problem(tmp_path, city, mode) is None


def test_a_laptop_checking_a_boards_config_does_not_judge_its_key(
    tmp_path: Path, city: CityCA
) -> None:
    cert, key = city.board_certificate(BOARD["id"])
    key.chmod(0o644)
    path = board_config(tmp_path, 8883, tls_keys(city.ca, cert, key))
    assert load_config(path, env={}, files_elsewhere=True).mqtt is not None


def config_problems(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    return "\n".join(caught.value.problems)


def test_tls_files_without_tls_are_refused(tmp_path: Path, city: CityCA) -> None:
    path = board_config(tmp_path, 1883, f'ca_file = "{city.ca}"\n')
    assert "ca_file given but tls = false: set tls = true" in config_problems(path)


def test_a_key_of_another_certificate_is_refused(tmp_path: Path, city: CityCA) -> None:
    cert, _key = city.board_certificate(BOARD["id"])
    _other_cert, other_key = city.board_certificate(OTHER_BOARD)
    path = board_config(tmp_path, 8883, tls_keys(city.ca, cert, other_key))
    problems = config_problems(path)
    assert "are not a PEM certificate and its own private key (key values mismatch)" in problems


def test_an_encrypted_key_is_refused_rather_than_prompting(tmp_path: Path, city: CityCA) -> None:
    cert, key = city.board_certificate(BOARD["id"])
    locked = tmp_path / "locked.key"
    subprocess.run(
        ["openssl", "pkey", "-in", str(key), "-aes256", "-passout", "pass:x", "-out", str(locked)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    locked.chmod(0o600)
    path = board_config(tmp_path, 8883, tls_keys(city.ca, cert, locked))
    assert "the private key is encrypted" in config_problems(path)


def test_a_ca_file_that_is_no_certificate_is_refused(tmp_path: Path, city: CityCA) -> None:
    not_a_ca = tmp_path / "ca.pem"
    not_a_ca.write_text("not a certificate\n")
    path = board_config(tmp_path, 8883, tls_keys(not_a_ca))
    assert f"ca_file {not_a_ca} holds no PEM CA certificate" in config_problems(path)


def test_doctor_warns_of_a_password_file_every_user_can_read(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o644)
    mqtt = f'username = "{BOARD["id"]}"\npassword_file = "{secret}"\n'
    config = load_config(board_config(tmp_path, 1883, mqtt), env={})
    assert report(check_password_permissions(config)) == (
        f"! password file {secret} is open to every user on the board (mode 0644)\n"
        f"    → chmod 600 {secret} (or chown root:signage-agent and chmod 640)\n"
    )
    secret.chmod(0o600)
    assert check_password_permissions(config) == []


# --- the broker's name --------------------------------------------------------------


@pytest.fixture
def misnamed_broker(tmp_path: Path, city: CityCA) -> Iterator[Broker]:
    """A broker whose certificate, from the right CA, is for another name."""
    cert, key = city.broker_certificate("other-broker", "mqtt.other.example")
    directory = tmp_path / "misnamed"
    directory.mkdir()
    broker = Broker(directory, f"certfile {cert}\nkeyfile {key}\nallow_anonymous true\n")
    broker.start()
    yield broker
    broker.kill()


@pytest.mark.e2e
def test_a_broker_certificate_for_another_name_is_refused(
    tmp_path: Path, city: CityCA, misnamed_broker: Broker, agents: list[AgentProcess]
) -> None:
    config = board_config(
        tmp_path / "board", misnamed_broker.port, tls_keys(city.ca), host="localhost"
    )
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    agent.wait_log("TLS: hostname mismatch: the broker's certificate is not valid for localhost")
    wait_until(lambda: agent.log().count("failed (attempt") >= 2, 15, "a second attempt")
    assert "connected to the broker" not in agent.log()
    assert "set [mqtt] host to a name in the certificate" in agent.log()

    result = doctor_cli(config)
    assert result.returncode == 1
    assert (
        "✗ TLS: the broker's certificate is for mqtt.other.example, not localhost: "
        "the board refuses it" in result.stdout
    )
    assert '→ set [mqtt] host = "mqtt.other.example"' in result.stdout
    assert "MQTT log-in" not in result.stdout


# --- TLS 1.1 and older ---------------------------------------------------------------


@pytest.mark.e2e
def test_a_broker_that_speaks_only_tls_1_1_is_refused(
    tmp_path: Path, city: CityCA, agents: list[AgentProcess]
) -> None:
    with tls_1_1_server(city.directory / "server.crt", city.directory / "server.key") as port:
        # The control: this server does complete a TLS 1.1 handshake with a weak client.
        weak = weak_client_context(city.ca)
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            weak.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            assert tls.version() == "TLSv1.1"

        config = board_config(tmp_path / "board", port, tls_keys(city.ca))
        agent = AgentProcess(config, tmp_path / "agent.log").start()
        agents.append(agent)
        agent.wait_log("TLS: the broker speaks only TLS 1.1 or older", timeout=15)
        assert "the board needs TLS 1.2 or newer" in agent.log()

        checks = report(check_broker(load_config(config, env={}), timeout=5))
    assert f"✗ TLS handshake with 127.0.0.1:{port}: the broker speaks only TLS 1.1" in checks
    assert "→ the board needs TLS 1.2 or newer: set it at the broker" in checks


# --- client certificates, a per-board ACL by the certificate's name ----------------


@dataclass
class CertificateBroker:
    broker: Broker
    city: CityCA

    @property
    def port(self) -> int:
        return self.broker.port


@pytest.fixture
def cert_broker(tmp_path: Path, city: CityCA) -> Iterator[CertificateBroker]:
    """examples/mosquitto/signage-certificates.conf with its paths and port pointing at
    this test: every client shows a certificate from the city's CA, its common name is its
    user name, and the city's ACL (pattern … %u) gives each board its own topics."""
    directory = tmp_path / "cert-broker"
    directory.mkdir()
    passwd = directory / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(passwd), "dashboard", "local-only"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    port = free_port()
    conf = (EXAMPLES / "signage-certificates.conf").read_text(encoding="utf-8")
    for old, new in {
        "/etc/mosquitto/passwd": str(passwd),
        "/etc/mosquitto/signage.acl": str(ACL),
        "/etc/mosquitto/certs/ca.crt": str(city.ca),
        "/etc/mosquitto/certs/server.crt": str(city.directory / "server.crt"),
        "/etc/mosquitto/certs/server.key": str(city.directory / "server.key"),
        "listener 8883\n": f"listener {port} 127.0.0.1\n",
        "listener 1883 127.0.0.1\n": "",
    }.items():
        assert old in conf
        conf = conf.replace(old, new)
    broker = Broker(directory, conf)
    broker.port = port  # the example's TLS listener, not the helper's plain one
    broker.start()
    yield CertificateBroker(broker, city)
    broker.kill()


def dashboard(place: CertificateBroker, topics: list[str]) -> Observer:
    """The city's dashboard, logged in with its own certificate (common name dashboard)."""
    cert, key = place.city.board_certificate("dashboard")
    observer = Observer(place.port, topics)
    observer.client.tls_set_context(place.city.client_context(cert, key))
    return observer.connect()


@pytest.fixture
def city_dashboard(cert_broker: CertificateBroker) -> Iterator[Observer]:
    observer = dashboard(cert_broker, [board_topic("#")])
    yield observer
    observer.close()


def certificate_board(tmp_path: Path, place: CertificateBroker, name: str) -> Path:
    cert, key = place.city.board_certificate(name)
    return board_config(tmp_path / "board", place.port, tls_keys(place.city.ca, cert, key))


@pytest.mark.e2e
def test_a_board_logs_in_with_its_certificate_and_gets_its_content_and_commands(
    tmp_path: Path,
    cert_broker: CertificateBroker,
    city_dashboard: Observer,
    agents: list[AgentProcess],
) -> None:
    config = certificate_board(tmp_path, cert_broker, BOARD["id"])
    assert "username" not in config.read_text(encoding="utf-8")  # no password either
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    wait_online(city_dashboard, timeout=20)  # it may write its status
    city_dashboard.wait_for(lambda m: m.topic == board_topic("heartbeat"), timeout=20)

    city_dashboard.publish(COMMUNE_TOPIC, playlist(3, [text_item("a", "Xin chào")]), retain=True)
    started = city_dashboard.wait_for(
        event_matcher(board_topic("events"), "playback.started", item_id="a"), timeout=20
    )
    assert started.json()["channel"] == "commune"
    ping = {"type": "command", "id": "cert-1", "command": "ping"}
    city_dashboard.publish(board_topic("cmd"), json.dumps(ping))
    result = city_dashboard.wait_for(lambda m: m.topic == board_topic("cmd/result"), timeout=20)
    assert result.json()["ok"] is True

    doctor = doctor_cli(config).stdout
    assert f"✓ board certificate {config.parent.parent / 'city-ca'}" in doctor
    assert f": for {BOARD['id']}, issued by CN=signage test CA, valid until" in doctor
    assert f"✓ MQTT log-in as {BOARD['id']} accepted" in doctor
    # The city's ACL does not let a board read its own events: the PUBACK proves it.
    assert f"✓ write permission: the broker accepted a probe on {board_topic('events')}" in doctor


class OtherBoard:
    """A client holding another board's certificate, on MQTT 5 (so a refused publish
    gets a PUBACK that says so)."""

    def __init__(self, place: CertificateBroker) -> None:
        cert, key = place.city.board_certificate(OTHER_BOARD)
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=OTHER_BOARD, protocol=mqtt.MQTTv5
        )
        client.tls_set_context(place.city.client_context(cert, key))
        self.received: list[str] = []
        self.pubacks: dict[int, object] = {}
        client.on_message = lambda _c, _u, msg: self.received.append(msg.topic)
        client.on_publish = lambda _c, _u, mid, reason, _p: self.pubacks.__setitem__(mid, reason)
        client.connect("127.0.0.1", place.port)
        client.loop_start()
        wait_until(client.is_connected, 10, "the other board's login")
        self.client = client

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.e2e
def test_another_boards_certificate_reads_none_of_its_commands_and_writes_none_of_its_topics(
    tmp_path: Path,
    cert_broker: CertificateBroker,
    city_dashboard: Observer,
    agents: list[AgentProcess],
) -> None:
    agent = AgentProcess(certificate_board(tmp_path, cert_broker, BOARD["id"]), tmp_path / "a.log")
    agents.append(agent.start())
    wait_online(city_dashboard, timeout=20)
    other = OtherBoard(cert_broker)
    try:
        other.client.subscribe(board_topic("cmd"), qos=1)  # Mosquitto grants it, delivers nothing
        forged = other.client.publish(board_topic("heartbeat"), b'{"forged": true}', qos=1)
        wait_until(lambda: forged.mid in other.pubacks, 10, "the PUBACK of the forged heartbeat")
        ping = {"type": "command", "id": "cert-2", "command": "ping"}
        city_dashboard.publish(board_topic("cmd"), json.dumps(ping))
        # The rightful board gets it and answers: the command was there to be read.
        city_dashboard.wait_for(lambda m: m.topic == board_topic("cmd/result"), timeout=20)
        time.sleep(0.5)
        assert other.received == []
        assert str(other.pubacks[forged.mid]) == "Not authorized"
    finally:
        other.close()
    assert city_dashboard.find(lambda m: b"forged" in m.payload) == []

    # doctor on a board given the other board's certificate says what is wrong.
    cert, key = cert_broker.city.board_certificate(OTHER_BOARD)
    path = board_config(
        tmp_path / "swapped", cert_broker.port, tls_keys(cert_broker.city.ca, cert, key)
    )
    config = load_config(path, env={})
    identity = report([*check_identity(config), *check_board_certificate(config)])
    assert (
        f"✗ the board certificate is for {OTHER_BOARD}, not the board id {BOARD['id']}" in identity
    )
    broker = report(check_broker(config))
    assert (
        f"✗ broker denies {OTHER_BOARD} writing {board_topic('events')}: Not authorized" in broker
    )


@pytest.mark.e2e
def test_a_board_without_a_certificate_is_refused_with_what_to_install(
    tmp_path: Path, cert_broker: CertificateBroker, agents: list[AgentProcess]
) -> None:
    config = board_config(tmp_path / "board", cert_broker.port, tls_keys(cert_broker.city.ca))
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    agent.wait_log("TLS: the broker requires a client certificate", timeout=15)
    assert "set [mqtt] cert_file and key_file" in agent.log()
    assert "connected to the broker" not in agent.log()

    checks = report(check_broker(load_config(config, env={}), timeout=5))
    # Said by the TLS check, which waits for the broker's verdict before sending anything
    # (after a CONNECT the broker's close can reset the connection and lose the alert).
    assert "the broker requires a client certificate" in checks
    assert "→ set [mqtt] cert_file and key_file (the board's certificate" in checks


@pytest.mark.e2e
def test_a_board_certificate_from_another_ca_is_refused_with_what_to_install(
    tmp_path: Path, cert_broker: CertificateBroker, agents: list[AgentProcess]
) -> None:
    stranger = CityCA(tmp_path / "stranger-ca")
    cert, key = stranger.board_certificate(BOARD["id"])
    config = board_config(
        tmp_path / "board", cert_broker.port, tls_keys(cert_broker.city.ca, cert, key)
    )
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    agent.wait_log("TLS: the broker does not trust the board's certificate", timeout=15)
    checks = report(check_broker(load_config(config, env={}), timeout=5))
    # Said by the TLS check, which waits for the broker's verdict before sending anything.
    assert "the broker does not trust the board's certificate" in checks


# --- no secret in any log line, doctor report or published message -----------------


@dataclass
class Secrets:
    password_file: Path
    cert: Path
    key: Path

    def texts(self) -> list[str]:
        """The password, the line below it, and every line of the private key's PEM body."""
        body = [
            line
            for line in self.key.read_text(encoding="ascii").splitlines()
            if line and not line.startswith("-----")
        ]
        return [PASSWORD, SECOND_LINE, *body, "".join(body)]


def secret_config(directory: Path, port: int, ca: Path, secrets: Secrets) -> Path:
    mqtt = tls_keys(ca, secrets.cert, secrets.key) + (
        f'username = "{BOARD["id"]}"\npassword_file = "{secrets.password_file}"\n'
    )
    return board_config(directory, port, mqtt)


@pytest.mark.e2e
def test_no_secret_reaches_a_log_line_a_doctor_report_or_a_message(
    tmp_path: Path, city: CityCA
) -> None:
    """A board with a password file, a client key and TLS, through a wrong CA, a wrong
    password and a good login, with debug logging: every line it and doctor write, and
    every message on the broker, is searched for the secrets."""
    passwd = tmp_path / "passwd"
    for user, password in ((BOARD["id"], PASSWORD), ("dashboard", "bảng-điều-khiển")):
        subprocess.run(
            [
                "mosquitto_passwd",
                "-b",
                *(["-c"] if user == BOARD["id"] else []),
                str(passwd),
                user,
                password,
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
    (tmp_path / "broker").mkdir()
    broker = Broker(
        tmp_path / "broker",
        f"cafile {city.ca}\ncertfile {city.directory / 'server.crt'}\n"
        f"keyfile {city.directory / 'server.key'}\nrequire_certificate true\n"
        f"allow_anonymous false\npassword_file {passwd}\n",
    )
    broker.start()
    try:
        cert, key = city.board_certificate(BOARD["id"])
        dashboard_cert, dashboard_key = city.board_certificate("dashboard")
        everything = Observer(broker.port, ["#"])
        everything.client.username_pw_set("dashboard", "bảng-điều-khiển")
        everything.client.tls_set_context(city.client_context(dashboard_cert, dashboard_key))
        everything.connect()
        written = run_through_failures_and_success(
            tmp_path, city, broker, everything, cert=cert, key=key
        )
        everything.close()
    finally:
        broker.kill()
    secrets = Secrets(tmp_path / "good" / "password", cert, key)
    published = [f"{m.topic} {m.payload.decode('utf-8', 'replace')}" for m in everything.messages]
    assert any(board_topic("heartbeat") in line for line in published)
    for secret in secrets.texts():
        leaks = [
            line for text in [*written, *published] for line in text.splitlines() if secret in line
        ]
        assert leaks == [], f"a secret ({secret[:6]}…) in: {leaks[:3]}"


def run_through_failures_and_success(
    tmp_path: Path, city: CityCA, broker: Broker, everything: Observer, *, cert: Path, key: Path
) -> list[str]:
    """Returns everything the agents and doctor wrote."""
    stranger = CityCA(tmp_path / "stranger-ca")
    written: list[str] = []
    phases = {
        "wrong-ca": (stranger.ca, "sai-" + PASSWORD, "TLS: certificate not trusted"),
        "wrong-password": (city.ca, "sai-" + PASSWORD, "broker refused the connection"),
        "good": (city.ca, PASSWORD, "connected to the broker"),
    }
    for name, (ca, password, outcome) in phases.items():
        directory = tmp_path / name
        directory.mkdir()
        password_file = directory / "password"
        password_file.write_text(f"{password}\n{SECOND_LINE}\n", encoding="utf-8")
        password_file.chmod(0o600)
        config = secret_config(directory, broker.port, ca, Secrets(password_file, cert, key))
        agent = AgentProcess(config, directory / "agent.log", args=["--verbose"]).start()
        try:
            agent.wait_log(outcome, timeout=20)
            if name == "good":
                everything.wait_for(lambda m: m.topic == board_topic("heartbeat"), timeout=20)
                ping = {"type": "command", "id": "secret-1", "command": "ping"}
                everything.publish(board_topic("cmd"), json.dumps(ping))
                everything.wait_for(lambda m: m.topic == board_topic("cmd/result"), timeout=20)
            doctor = doctor_cli(config)
            written += [doctor.stdout, doctor.stderr]
        finally:
            agent.kill()  # also fails the test on a traceback in its log
        written.append(agent.log())
    return written
