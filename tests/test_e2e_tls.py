"""TLS and username/password-file options against a real Mosquitto with TLS and auth."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import AgentProcess, Broker, wait_until, write_config

pytestmark = pytest.mark.e2e


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


def make_certificates(directory: Path) -> None:
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        str(directory / "ca.key"),
        "-out",
        str(directory / "ca.crt"),
        "-subj",
        "/CN=signage test CA",
        "-days",
        "2",
    )
    openssl(
        "req",
        *ec,
        "-keyout",
        str(directory / "server.key"),
        "-out",
        str(directory / "server.csr"),
        "-subj",
        "/CN=127.0.0.1",
    )
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        str(directory / "server.csr"),
        "-CA",
        str(directory / "ca.crt"),
        "-CAkey",
        str(directory / "ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        str(directory / "server.crt"),
        "-extfile",
        str(directory / "san.ext"),
    )


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[Broker]:
    make_certificates(tmp_path)
    passwords = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(passwords), "hn-badinh-phucxa-01", "mật-khẩu-đúng"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    broker = Broker(
        tmp_path,
        f"allow_anonymous false\npassword_file {passwords}\ncafile {tmp_path / 'ca.crt'}\n"
        f"certfile {tmp_path / 'server.crt'}\nkeyfile {tmp_path / 'server.key'}\n",
    )
    broker.start()
    yield broker
    broker.kill()


def agent_config(directory: Path, broker: Broker, password: str) -> Path:
    directory.mkdir(exist_ok=True)
    password_file = directory / "password"
    password_file.write_text(password + "\n", encoding="utf-8")
    mqtt = (
        f'tls = true\nca_file = "{broker.conf.parent / "ca.crt"}"\n'
        f'username = "hn-badinh-phucxa-01"\npassword_file = "{password_file}"\n'
    )
    config = write_config(directory, port=broker.port)
    text = config.read_text(encoding="utf-8").replace(
        "keepalive_s = 5\n", f"keepalive_s = 5\n{mqtt}"
    )
    config.write_text(text, encoding="utf-8")
    return config


def test_agent_connects_over_tls_with_a_password_file(
    tmp_path: Path, tls_broker: Broker, agents: list[AgentProcess]
) -> None:
    agent = AgentProcess(
        agent_config(tmp_path / "good", tls_broker, "mật-khẩu-đúng"), tmp_path / "good.log"
    ).start()
    agents.append(agent)
    agent.wait_log("connected to the broker", timeout=15)


def test_wrong_password_is_logged_and_retried_without_crashing(
    tmp_path: Path, tls_broker: Broker, agents: list[AgentProcess]
) -> None:
    agent = AgentProcess(
        agent_config(tmp_path / "bad", tls_broker, "sai"), tmp_path / "bad.log"
    ).start()
    agents.append(agent)
    agent.wait_log("broker refused the connection", timeout=15)
    wait_until(lambda: agent.log().count("failed (attempt") >= 2, 15, "a second attempt")
    assert agent.alive()
    assert "connected to the broker" not in agent.log()
