"""Connection faults say their cause: in the log (once), in the heartbeat's `mqtt` part
(`last_error`, `reconnects`), within one connect deadline (issues 19 and 21).

The real MqttLink (paho underneath) against brokers that misbehave on real sockets, and
against a real Mosquitto with TLS for the TLS causes."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from agent.clock import SystemClock
from agent.config import MqttConfig
from agent.link import MqttLink
from agent.link_messages import LinkUp
from agent.topics import Topics
from tests.hostile.conn_fakes import FakeBroker, Mode
from tests.support import BOARD, AmqttBroker, Broker, wait_until
from tests.test_e2e_tls import make_certificates, tls_broker

__all__ = ["tls_broker"]  # a fixture used below
TOPICS = Topics("signage/v1", BOARD["district"], BOARD["commune"], BOARD["id"])
DEADLINE_S = 1.0


def mqtt_config(port: int, **options: Any) -> MqttConfig:
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "keepalive_s": 5,
        "reconnect_min_s": 0.2,
        "reconnect_max_s": 0.5,
        "connect_timeout_s": DEADLINE_S,
    }
    settings.update(options)
    return MqttConfig.model_validate(settings)


@pytest.fixture
def links() -> Iterator[list[MqttLink]]:
    started: list[MqttLink] = []
    yield started
    for link in started:
        link.stop(timeout=0.5)


@pytest.fixture
def fakes() -> Iterator[list[FakeBroker]]:
    made: list[FakeBroker] = []
    yield made
    for fake in made:
        fake.close()


def start_link(cfg: MqttConfig, links: list[MqttLink]) -> tuple[MqttLink, queue.Queue[Any]]:
    inbox: queue.Queue[Any] = queue.Queue()
    link = MqttLink(cfg, BOARD["id"], TOPICS, inbox, SystemClock(), subscribe_alerts=True)
    links.append(link)
    link.start()
    return link, inbox


def fake(mode: Mode, fakes: list[FakeBroker]) -> FakeBroker:
    made = FakeBroker(mode)
    fakes.append(made)
    return made


def wait_error(link: MqttLink, needle: str, timeout: float) -> float:
    started = time.monotonic()
    wait_until(lambda: needle in (link.last_error or ""), timeout, f"last_error with {needle!r}")
    return time.monotonic() - started


def warnings_with(caplog: pytest.LogCaptureFixture, needle: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and needle in r.getMessage()
    ]


def test_a_broker_that_never_sends_connack_times_out_within_the_deadline(
    links: list[MqttLink], fakes: list[FakeBroker], caplog: pytest.LogCaptureFixture
) -> None:
    silent = fake("silent", fakes)
    link, _ = start_link(mqtt_config(silent.port, protocol="5"), links)
    took = wait_error(link, f"no CONNACK within {DEADLINE_S:g} s", timeout=DEADLINE_S + 5)
    assert took < DEADLINE_S + 2  # one deadline (and the supervisor's tick)
    wait_until(lambda: link.reconnects >= 2, 10, "a second failed attempt")
    health = link.health(UTC, None)
    assert health.reconnects >= 2
    assert health.last_error is not None
    assert health.connected_since is None
    assert health.protocol == "5"
    # Logged once with its cause: repeats of the same cause are not warnings again.
    assert len(warnings_with(caplog, "no CONNACK")) == 1
    assert set(silent.levels) == {5}  # protocol = "5": no other version is tried


def test_a_broker_that_closes_before_connack_is_reported_and_auto_tries_both_versions(
    links: list[MqttLink], fakes: list[FakeBroker], caplog: pytest.LogCaptureFixture
) -> None:
    closing = fake("close", fakes)
    link, _ = start_link(mqtt_config(closing.port), links)
    took = wait_error(link, "connection closed before CONNACK", timeout=DEADLINE_S + 5)
    assert took < DEADLINE_S + 2
    wait_until(lambda: {4, 5} <= set(closing.levels), 10, "attempts in MQTT 5 and in 3.1.1")
    assert closing.levels[0] == 5  # MQTT 5 first
    assert warnings_with(caplog, "closed before CONNACK")
    assert link.reconnects >= 2
    assert not link.connected


def test_a_broker_refusing_mqtt5_gets_3_1_1_for_the_session(
    links: list[MqttLink], fakes: list[FakeBroker], caplog: pytest.LogCaptureFixture
) -> None:
    old_broker = fake("refuse-5", fakes)
    link, inbox = start_link(mqtt_config(old_broker.port), links)
    up = inbox.get(timeout=10)
    while not isinstance(up, LinkUp):
        up = inbox.get(timeout=10)
    assert link.protocol == "3.1.1"
    assert link.fell_back
    assert old_broker.levels[:2] == [5, 4]
    assert warnings_with(caplog, "refused MQTT 5")
    assert warnings_with(caplog, "falling back to MQTT 3.1.1 for this session")
    health = link.health(UTC, None)
    assert health.protocol == "3.1.1"
    assert health.connected_since is not None
    assert "Unsupported protocol version" in (health.last_error or "")


def test_protocol_5_only_reports_the_refusal_and_does_not_fall_back(
    links: list[MqttLink], fakes: list[FakeBroker]
) -> None:
    old_broker = fake("refuse-5", fakes)
    link, _ = start_link(mqtt_config(old_broker.port, protocol="5"), links)
    wait_error(link, "broker refused the connection: Unsupported protocol version", 10)
    wait_until(lambda: len(old_broker.levels) >= 2, 10, "a retry")
    assert set(old_broker.levels) == {5}
    assert not link.connected


def tls_config(broker: Broker, ca_file: Path, host: str = "127.0.0.1") -> MqttConfig:
    return mqtt_config(broker.port, host=host, tls=True, ca_file=ca_file, protocol="5")


# paho leaves the socket of a failed handshake to the garbage collector (ResourceWarning).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_tls_failures_name_their_cause(
    tmp_path: Path, tls_broker: Broker, links: list[MqttLink]
) -> None:
    (tmp_path / "plain").mkdir()
    broker = Broker(tmp_path / "plain")
    broker.start()
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    make_certificates(stranger)  # another CA: it did not sign the broker's certificate
    ca = tls_broker.conf.parent / "ca.crt"
    untrusted, _ = start_link(tls_config(tls_broker, stranger / "ca.crt"), links)
    mismatch, _ = start_link(tls_config(tls_broker, ca, host="localhost"), links)
    plain, _ = start_link(tls_config(broker, ca), links)  # TLS spoken to a plain port
    wait_error(untrusted, "TLS: certificate not trusted", 10)
    wait_error(mismatch, "TLS: hostname mismatch", 10)
    assert "not valid for localhost" in (mismatch.last_error or "")
    wait_error(plain, "TLS protocol error", 10)
    for link in (untrusted, mismatch, plain):
        assert link.reconnects >= 1
    broker.kill()


def test_a_refused_subscription_is_a_denial_on_mqtt_3_1_1_too(
    tmp_path: Path, links: list[MqttLink], caplog: pytest.LogCaptureFixture
) -> None:
    """amqtt's topic ACL answers a subscription it refuses with SUBACK 0x80 (3.1.1):
    the board says it cannot read its commands, once, and in its STATUS= line."""
    cmd = TOPICS.command
    # Everything else a board reads (issue 14 added its assignment and the layouts).
    allowed = ["signage/v1/content/#", "signage/v1/alert/#", "signage/v1/layout/#"]
    allowed.append(TOPICS.assignment)
    acl = (
        "  amqtt.plugins.topic_checking.TopicAccessControlListPlugin:\n"
        "    acl:\n"
        f"      anonymous: {allowed!r}\n"
    )
    broker = AmqttBroker(tmp_path, acl)
    broker.start()
    try:
        link, _ = start_link(mqtt_config(broker.port, connect_timeout_s=3), links)
        wait_until(lambda: f"read {cmd}" in link.denials, 20, "the refused subscription")
        assert link.protocol == "3.1.1"
        assert link.health(UTC, None).denied == 1  # only the cmd topic
        assert f"broker denies read {cmd}" in (link.problems() or "")
        assert len(warnings_with(caplog, f"denies read {cmd}")) == 1
    finally:
        broker.kill()


def test_the_protocol_key_takes_auto_5_and_3_1_1_only() -> None:
    assert mqtt_config(1883).protocol == "auto"
    assert mqtt_config(1883, protocol=5).protocol == "5"  # TOML `protocol = 5`
    assert mqtt_config(1883, protocol="3.1.1").protocol == "3.1.1"
    for wrong in ("4", "3.1", 311, True):
        with pytest.raises(ValueError, match="protocol"):
            mqtt_config(1883, protocol=wrong)
