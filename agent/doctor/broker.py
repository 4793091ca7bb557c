"""Can this board reach its broker? Name, TCP, TLS, log-in and subscriptions, timed.

Each stage stops the checks after it when it fails: a broker that cannot be reached
cannot refuse a password, and saying so would only confuse. The stages up to TLS are
here (the handshake's checks in `tls.py`); the log-in and what follows it are the MQTT
checks (`mqtt_checks.py`) on a session opened as the board opens one (`mqtt_session.py`).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from agent.config import AgentConfig, MqttConfig
from agent.doctor.check import Check, ms, timed
from agent.doctor.mqtt_checks import BrokerSession
from agent.doctor.tls import check_handshake


def check_broker(config: AgentConfig, timeout: float | None = None) -> list[Check]:
    """`timeout`: the connect deadline; by default the board's own (connect_timeout_s)."""
    if config.mqtt is None:
        return [Check.skipped("no [mqtt] section: this board takes content from its inbox only")]
    probe = BrokerProbe(config, timeout or config.mqtt.connect_timeout_s)
    checks: list[Check] = []
    for stage in (probe.resolve, probe.connect_tcp, probe.handshake_tls, probe.log_in):
        found = stage()
        checks.extend(found)
        if not all(check.ok for check in found):
            break
    return checks


@dataclass
class BrokerProbe:
    config: AgentConfig
    timeout: float
    address: str = field(init=False)

    def __post_init__(self) -> None:
        self.address = f"{self.mqtt.host}:{self.mqtt.effective_port}"

    @property
    def mqtt(self) -> MqttConfig:
        assert self.config.mqtt is not None
        return self.config.mqtt

    def resolve(self) -> list[Check]:
        host, port = self.mqtt.host, self.mqtt.effective_port
        try:
            found, took = timed(lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            return [
                Check.failed(
                    f"broker name {host} does not resolve: {exc.strerror or exc}",
                    "check [mqtt] host for typos, then the board's network: "
                    "ping -c 3 1.1.1.1 (internet) and resolvectl status or /etc/resolv.conf "
                    "(DNS); on mobile data, the SIM's APN",
                )
            ]
        first = found[0][4][0]
        return [Check.passed(f"broker name {host} resolves to {first} ({ms(took)})")]

    def _open(self) -> socket.socket:
        return socket.create_connection(
            (self.mqtt.host, self.mqtt.effective_port), timeout=self.timeout
        )

    def connect_tcp(self) -> list[Check]:
        try:
            sock, took = timed(self._open)
        except ConnectionRefusedError:
            return [
                Check.failed(
                    f"broker {self.address} refuses TCP connections: nothing listens there",
                    "check [mqtt] port (8883 with TLS, 1883 without) and that the broker runs",
                )
            ]
        except TimeoutError:
            return [
                Check.failed(
                    f"broker {self.address} does not answer within {self.timeout:g} s",
                    f"a firewall or the mobile network drops port {self.mqtt.effective_port}: "
                    "ask the network team to open it; check [mqtt] host and port",
                )
            ]
        except OSError as exc:
            return [
                Check.failed(
                    f"broker {self.address} unreachable: {exc.strerror or exc}",
                    "check the board's network (ip route; ping -c 3 1.1.1.1) and [mqtt] host",
                )
            ]
        sock.close()
        return [Check.passed(f"TCP connection to {self.address} ({ms(took)})")]

    def handshake_tls(self) -> list[Check]:
        if not self.mqtt.tls:
            plain = "the password and content cross" if self.mqtt.username else "content crosses"
            return [Check.skipped(f"TLS off ([mqtt] tls = false): {plain} the network in clear")]
        return check_handshake(self.mqtt, self._open, self.timeout)

    def log_in(self) -> list[Check]:
        session = BrokerSession(self.config, self.timeout)
        try:
            return session.checks()
        finally:
            session.close()
