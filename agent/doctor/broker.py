"""Can this board reach its broker? Name, TCP, TLS, log-in and subscriptions, timed.

Each stage stops the checks after it when it fails: a broker that cannot be reached
cannot refuse a password, and saying so would only confuse. The stages up to TLS are
here; the log-in and what follows it are the MQTT checks (`mqtt_checks.py`) on a session
opened as the board opens one (`mqtt_session.py`).
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent.config import AgentConfig, MqttConfig
from agent.doctor.check import Check, ms, timed
from agent.doctor.mqtt_checks import BrokerSession


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
        try:
            context = tls_context(self.mqtt)
        except (OSError, ssl.SSLError) as exc:
            return [
                Check.failed(
                    f"TLS files cannot be used: {exc}",
                    "ca_file must be the city's CA certificate (PEM); cert_file and key_file "
                    "the board's own certificate and its key",
                )
            ]
        try:
            summary, took = timed(lambda: self._shake(context))
        except ssl.SSLCertVerificationError as exc:
            return [Check.failed(f"TLS: {exc.verify_message}", _certificate_fix(exc))]
        except (OSError, ssl.SSLError) as exc:
            return [Check.failed(f"TLS handshake with {self.address} failed: {exc}", _tls_fix(exc))]
        return [Check.passed(f"TLS: {summary} ({ms(took)})")]

    def _shake(self, context: ssl.SSLContext) -> str:
        with (
            self._open() as raw,
            context.wrap_socket(raw, server_hostname=self.mqtt.host) as tls,
        ):
            return describe_certificate(tls.getpeercert(), tls.version())

    def log_in(self) -> list[Check]:
        session = BrokerSession(self.config, self.timeout)
        try:
            return session.checks()
        finally:
            session.close()


def tls_context(cfg: MqttConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
    if cfg.cert_file is not None and cfg.key_file is not None:
        context.load_cert_chain(str(cfg.cert_file), str(cfg.key_file))
    return context


def describe_certificate(cert: dict[str, Any] | None, version: str | None) -> str:
    if not cert:
        return f"{version}, no certificate details"
    subject = dict(pair[0] for pair in cert.get("subject", ()))
    until = datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC)
    days = (until - datetime.now(UTC)).days
    soon = "; renew it soon" if days < 30 else ""
    return (
        f"{version}, certificate of {subject.get('commonName', '?')} verified, "
        f"valid until {until:%Y-%m-%d} ({days} day{'' if days == 1 else 's'}{soon})"
    )


def _certificate_fix(exc: ssl.SSLCertVerificationError) -> str:
    message = exc.verify_message or ""
    if "expired" in message or "not yet valid" in message:
        return (
            "check the board's clock (the clock line below); if it is right, the broker's "
            "certificate must be renewed"
        )
    if "Hostname mismatch" in message or "IP address mismatch" in message:
        return "use the broker name written in its certificate as [mqtt] host"
    return (
        "[mqtt] ca_file must hold the CA that signed the broker's certificate "
        "(the city's ca.pem from the work order)"
    )


def _tls_fix(exc: Exception) -> str:
    # A plain MQTT broker answers a TLS hello with garbage (OpenSSL: wrong version number)
    # or, like Mosquitto, by closing the connection.
    plain_signs = ("WRONG_VERSION_NUMBER", "record layer", "packet length", "EOF occurred")
    if isinstance(exc, ConnectionResetError) or any(s in str(exc) for s in plain_signs):
        return "this port speaks plain MQTT, not TLS: use the TLS port (8883), or tls = false"
    return "check [mqtt] port and that the broker has TLS on that port"
