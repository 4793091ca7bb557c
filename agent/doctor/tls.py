"""The doctor's TLS checks: the handshake with the broker (its certificate trusted and
for `[mqtt] host`, TLS 1.2 or newer) and the board's own certificate, if it has one."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from agent.config import AgentConfig, MqttConfig
from agent.doctor.check import Check, ms, timed
from agent.mqtt_tls import certificate_names, read_board_certificate, tls_context
from agent.mqtt_wire import tls_alert
from agent.tls_wrap import wrap

RENEW_WITHIN_DAYS = 30


def check_handshake(
    cfg: MqttConfig, open_socket: Callable[[], socket.socket], timeout: float
) -> list[Check]:
    """One handshake as the board makes it (the link's own context)."""
    address = f"{cfg.host}:{cfg.effective_port}"
    try:
        context = tls_context(cfg)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return [
            Check.failed(
                f"TLS files cannot be used: {exc}",
                "ca_file must be the city's CA certificate (PEM); cert_file and key_file "
                "the board's own certificate and its key",
            )
        ]

    def shake() -> str:
        with open_socket() as raw, wrap(context, raw, cfg.host) as tls:
            if tls.version() == "TLSv1.3":
                _await_verdict(tls)
            return describe_certificate(tls.getpeercert(), tls.version())

    try:
        summary, took = timed(shake)
    except ssl.SSLCertVerificationError as exc:
        return [_verification_failed(cfg, exc, timeout)]
    except ssl.SSLError as exc:
        alert = tls_alert(exc.reason or str(exc))
        if alert is not None:
            return [Check.failed(f"TLS handshake with {address}: {alert[0]}", alert[1])]
        return [Check.failed(f"TLS handshake with {address} failed: {exc}", _tls_fix(exc))]
    except OSError as exc:
        return [Check.failed(f"TLS handshake with {address} failed: {exc}", _tls_fix(exc))]
    return [Check.passed(f"TLS: {summary} ({ms(took)})")]


POST_HANDSHAKE_WAIT_S = 0.3


def _await_verdict(tls: ssl.SSLSocket) -> None:
    """Under TLS 1.3 a broker's verdict on the client's certificate (missing, or from a CA
    it does not trust) comes just after the handshake. Read it here, before anything is
    sent: once the MQTT CONNECT is on its way, the broker's close may reset the connection
    and lose the alert (a bare "closed before its CONNACK"). An MQTT broker sends nothing
    unasked, so silence is a pass; an alert is raised as the `ssl.SSLError` it is."""
    tls.settimeout(POST_HANDSHAKE_WAIT_S)
    try:
        tls.recv(1)
    except TimeoutError:
        return


def _verification_failed(
    cfg: MqttConfig, exc: ssl.SSLCertVerificationError, timeout: float
) -> Check:
    message = exc.verify_message or str(exc)
    if "Hostname mismatch" not in message and "IP address mismatch" not in message:
        return Check.failed(f"TLS: {message}", _certificate_fix(message))
    try:
        names = certificate_names(cfg, timeout)
    except (OSError, ssl.SSLError):
        names = []
    if not names:
        return Check.failed(
            f"TLS: {message}", "use the broker name written in its certificate as [mqtt] host"
        )
    listed = ", ".join(names)
    return Check.failed(
        f"TLS: the broker's certificate is for {listed}, not {cfg.host}: the board refuses it",
        f'set [mqtt] host = "{names[0]}" (a name in the certificate; add it to /etc/hosts if '
        "DNS does not know it), or have the city issue a broker certificate that names "
        f"{cfg.host}",
    )


def check_board_certificate(config: AgentConfig) -> list[Check]:
    """The board's client certificate: readable, in date, and for this board. With
    `use_identity_as_username` its common name is the board's user name, so the broker's
    ACL gives it the topics of the board of that name."""
    mqtt = config.mqtt
    if mqtt is None or mqtt.cert_file is None:
        return []
    path = mqtt.cert_file
    try:
        cert = read_board_certificate(path)
    except (OSError, ValueError) as exc:
        return [
            Check.failed(
                f"board certificate {path} cannot be read: {exc}",
                "cert_file must be the board's certificate (PEM) from the city",
            )
        ]
    days = (cert.not_after - datetime.now(UTC)).days
    found = [
        Check.passed(
            f"board certificate {path}: for {cert.common_name or '(no common name)'}, issued by "
            f"{cert.issuer}, valid until {cert.not_after:%Y-%m-%d} ({_days(days)})"
        )
    ]
    board = config.board.id
    if cert.common_name != board:
        found.append(
            Check.failed(
                f"the board certificate is for {cert.common_name or '(no common name)'}, not "
                f"the board id {board}",
                "a broker that takes the certificate's name as the user name lets this "
                f"board use only that name's topics: install the certificate issued for {board}",
            )
        )
    if days < 0:
        found.append(
            Check.failed(
                "the board certificate has expired: the broker refuses it",
                "check the board's clock; if it is right, install a renewed certificate",
            )
        )
    elif days < RENEW_WITHIN_DAYS:
        found.append(
            Check.warning(
                f"the board certificate expires in {_days(days)}",
                "ask the city for a renewed board certificate and install it (docs/technician.md)",
            )
        )
    return found


def describe_certificate(cert: dict[str, Any] | None, version: str | None) -> str:
    if not cert:
        return f"{version}, no certificate details"
    subject = dict(pair[0] for pair in cert.get("subject", ()))
    until = datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC)
    days = (until - datetime.now(UTC)).days
    soon = "; renew it soon" if days < RENEW_WITHIN_DAYS else ""
    return (
        f"{version}, certificate of {subject.get('commonName', '?')} verified, "
        f"valid until {until:%Y-%m-%d} ({_days(days)}{soon})"
    )


def _days(days: int) -> str:
    return f"{days} day{'' if days == 1 else 's'}"


def _certificate_fix(message: str) -> str:
    if "expired" in message or "not yet valid" in message:
        return (
            "check the board's clock (the clock line below); if it is right, the broker's "
            "certificate must be renewed"
        )
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
