"""The board's TLS to its broker: one context for the link and for `doctor`.

Verification cannot be turned off: the broker's certificate must chain to `ca_file` (or
to the system's CAs) and name `[mqtt] host`, and nothing older than TLS 1.2 is spoken.
There is deliberately no "insecure" switch and no server-name override: a board that
reaches its broker by an address its certificate does not name gets the name in
/etc/hosts instead, so that a verified name is always the one in the config.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.config import MqttConfig
from agent.tls_files import load_client_certificate
from agent.tls_wrap import wrap

MINIMUM_TLS = ssl.TLSVersion.TLSv1_2


def tls_context(cfg: MqttConfig) -> ssl.SSLContext:
    """Hostname checked, certificate required, TLS 1.2 or newer; the board's own
    certificate and key when `cert_file` and `key_file` are given.

    Raises OSError, ssl.SSLError or ValueError (an encrypted key) when a file is not a
    usable certificate or key; config loading has said so already (agent/tls_files.py)."""
    cafile = str(cfg.ca_file) if cfg.ca_file is not None else None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    context.minimum_version = MINIMUM_TLS
    # create_default_context sets both; said again so that no later edit loses them.
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    if cfg.cert_file is not None and cfg.key_file is not None:
        load_client_certificate(context, cfg.cert_file, cfg.key_file)
    return context


def certificate_names(cfg: MqttConfig, timeout: float) -> list[str]:
    """The names the broker's certificate is for (its subjectAltName entries, else its
    common name), read over a handshake that verifies the chain but not the name: what
    `doctor` shows next to the configured host after a hostname mismatch.

    Raises OSError or ssl.SSLError as a handshake does."""
    context = tls_context(cfg)
    context.check_hostname = False  # this handshake only reads the names; nothing is sent
    address = (cfg.host, cfg.effective_port)
    with (
        socket.create_connection(address, timeout=timeout) as raw,
        wrap(context, raw, cfg.host) as tls,
    ):
        cert: dict[str, Any] = dict(tls.getpeercert() or {})
    names = [str(value) for _kind, value in cert.get("subjectAltName", ())]
    if names:
        return names
    subject = dict(pair[0] for pair in cert.get("subject", ()))
    return [str(subject["commonName"])] if "commonName" in subject else []


@dataclass(frozen=True, slots=True)
class BoardCertificate:
    """The board's own certificate as the broker sees it: with `use_identity_as_username`
    its common name is the board's MQTT user name (and so its ACL)."""

    common_name: str | None
    not_after: datetime
    issuer: str


def read_board_certificate(path: Path) -> BoardCertificate:
    """Raises ValueError (not a PEM certificate) or OSError (cannot read)."""
    # Imported here: only doctor reads the board's certificate; `run` never loads it.
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = x509.load_pem_x509_certificate(path.read_bytes())
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else None
    return BoardCertificate(common_name, cert.not_valid_after_utc, cert.issuer.rfc4514_string())
