"""What the MQTT wire tells us, in a technician's words: protocol versions, the limits a
broker announces in its CONNACK, packet sizes, and why a connection attempt failed.

Shared by the link (agent/link*.py) and `doctor`, so both say the same thing.
"""

from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTProtocolVersion

ProtocolName = Literal["5", "3.1.1"]

PAHO_PROTOCOL: dict[ProtocolName, MQTTProtocolVersion] = {"5": mqtt.MQTTv5, "3.1.1": mqtt.MQTTv311}

# CONNACK reason codes (MQTT 5) the link acts on.
UNSUPPORTED_PROTOCOL = 0x84
RETAIN_NOT_SUPPORTED = 0x9A
QOS_NOT_SUPPORTED = 0x9B
# DISCONNECT reason code: the broker refused a packet bigger than its limit.
PACKET_TOO_LARGE = 0x95


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """What the broker announced in its CONNACK (MQTT 5). 3.1.1 brokers announce nothing:
    then every field is None ("not announced"), except the protocol."""

    protocol: ProtocolName
    max_packet_size: int | None = None
    receive_maximum: int | None = None
    retain_available: bool | None = None
    maximum_qos: int | None = None

    @classmethod
    def from_connack(cls, protocol: ProtocolName, props: Any) -> ServerLimits:
        if props is None:
            return cls(protocol)

        def get(name: str) -> Any:
            return getattr(props, name, None)

        retain = get("RetainAvailable")
        return cls(
            protocol,
            max_packet_size=get("MaximumPacketSize"),
            receive_maximum=get("ReceiveMaximum"),
            retain_available=None if retain is None else bool(retain),
            maximum_qos=get("MaximumQoS"),
        )

    def describe(self) -> str:
        """`maximum packet size 2000 bytes, receive maximum 20, …` (absent = not announced)."""

        def shown(value: Any, unit: str = "") -> str:
            return "not announced" if value is None else f"{value}{unit}"

        retain = (
            "not announced"
            if self.retain_available is None
            else ("yes" if self.retain_available else "NO")
        )
        return (
            f"maximum packet size {shown(self.max_packet_size, ' bytes')}, "
            f"receive maximum {shown(self.receive_maximum)}, retained messages {retain}, "
            f"maximum QoS {shown(self.maximum_qos)}"
        )


def _varint_length(value: int) -> int:
    length = 1
    while value >= 128:
        value //= 128
        length += 1
    return length


def publish_packet_size(topic: str, payload: bytes, protocol: ProtocolName) -> int:
    """Bytes of a QoS 1 PUBLISH as paho sends it (no properties): what a broker's maximum
    packet size is compared with."""
    remaining = 2 + len(topic.encode()) + 2 + len(payload) + (1 if protocol == "5" else 0)
    return 1 + _varint_length(remaining) + remaining


# What the broker's TLS alert (OpenSSL's reason name) says, in a technician's words. The
# verdict on the board's own certificate comes in the handshake under TLS 1.2 and just
# after it under TLS 1.3 (then paho sees it on its first read, before any CONNACK).
_CLIENT_CERT = "[mqtt] cert_file and key_file"
_OLD_TLS = (
    "the broker speaks only TLS 1.1 or older",
    "the board needs TLS 1.2 or newer: set it at the broker (Mosquitto: tls_version tlsv1.2)",
)
TLS_ALERTS: dict[str, tuple[str, str]] = {  # reason → (what happened, what to do)
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": (
        "the broker requires a client certificate",
        f"set {_CLIENT_CERT} (the board's certificate from the city's CA)",
    ),
    "TLSV1_ALERT_UNKNOWN_CA": (
        "the broker does not trust the board's certificate (unknown CA)",
        f"{_CLIENT_CERT} must be a certificate signed by the city's CA",
    ),
    "SSLV3_ALERT_BAD_CERTIFICATE": (
        "the broker refused the board's certificate (bad certificate)",
        f"check {_CLIENT_CERT}: the certificate the city issued for this board",
    ),
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": (
        "the broker refused the board's certificate as expired",
        "check the board's clock; if it is right, renew the board's certificate",
    ),
    "SSLV3_ALERT_CERTIFICATE_REVOKED": (
        "the broker refused the board's certificate as revoked",
        "install the new certificate the city issues for this board",
    ),
    "TLSV1_ALERT_PROTOCOL_VERSION": _OLD_TLS,
    "UNSUPPORTED_PROTOCOL": _OLD_TLS,
    "SSLV3_ALERT_HANDSHAKE_FAILURE": (
        "the broker ended the TLS handshake (handshake failure)",
        f"most often it requires a client certificate ({_CLIENT_CERT}); "
        "else the two have no cipher in common",
    ),
}
READ_FAILED = "failed to receive on socket: "  # paho's log line (paho/mqtt/client.py)
_SSL_REASON = re.compile(r"\[SSL: ([A-Z0-9_]+)\]")


def tls_alert(error: str) -> tuple[str, str] | None:
    """(what happened, what to do) for a TLS refusal; `error`: an OpenSSL reason name or
    a message holding one (`[SSL: NAME] …`, as in paho's "failed to receive on socket: …"
    line). None when it is no known refusal."""
    found = _SSL_REASON.search(error)
    return TLS_ALERTS.get(found.group(1) if found else error.strip())


def describe_tls_alert(error: str) -> str | None:
    """The link's one line for a TLS refusal (`tls_alert`), or None."""
    alert = tls_alert(error)
    return None if alert is None else f"TLS: {alert[0]}: {alert[1]}"


def _describe_verification(exc: ssl.SSLCertVerificationError, host: str) -> str:
    message = exc.verify_message or str(exc)
    if "Hostname mismatch" in message or "IP address mismatch" in message:
        return (
            f"TLS: hostname mismatch: the broker's certificate is not valid for {host} "
            "(signage-agent doctor names the ones it is for): set [mqtt] host to a name in "
            "the certificate"
        )
    if "expired" in message or "not yet valid" in message:
        return f"TLS: certificate {message} (or the board's clock is wrong)"
    return f"TLS: certificate not trusted ({message}): check [mqtt] ca_file"


def describe_connect_error(  # noqa: PLR0911  (one answer per kind of failure)
    exc: BaseException | None, host: str, port: int, timeout: float, *, tls: bool = False
) -> str:
    """Why the TCP connect or TLS handshake failed: one line, the cause first."""
    where = f"{host}:{port}"
    plain = f"{where} may speak plain MQTT, not TLS (port 8883 is the usual TLS port)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _describe_verification(exc, host)
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or str(exc)
        if (alert := describe_tls_alert(reason)) is not None:
            return alert
        if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"):
            return f"TLS protocol error ({reason}): {plain}"
        if isinstance(exc, ssl.SSLEOFError):
            return f"TLS protocol error (the broker closed during the handshake): {plain}"
        return f"TLS protocol error ({reason}) with {where}"
    if isinstance(exc, socket.gaierror):
        return f"broker name {host} does not resolve ({exc.strerror or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where} (nothing listens there, or the broker is down)"
    if isinstance(exc, TimeoutError):
        return f"no TCP/TLS answer from {where} within {timeout:g} s"
    if isinstance(exc, ConnectionResetError | BrokenPipeError) and tls:
        return f"TLS protocol error (connection reset during the handshake): {plain}"
    if isinstance(exc, ConnectionResetError):
        return f"connection reset by {where} during the connect (a TLS port spoken to in clear?)"
    if isinstance(exc, OSError):
        return f"cannot reach {where}: {exc.strerror or exc}"
    return f"cannot reach {where}"
