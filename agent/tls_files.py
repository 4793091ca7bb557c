"""The TLS files of `[mqtt]`, checked when the config is loaded: a board that cannot use
its certificate, or whose private key any local user can read, does not start.

The key rule: a private key readable or writable by "other" (mode o+r or o+w) is
refused. 0600 (owner only) and 0640 (group signage-agent, the installer's layout for
the service's secrets) are accepted: any process on the board could otherwise copy the
board's identity and log in as it from elsewhere.
"""

from __future__ import annotations

import ssl
import stat
from pathlib import Path


class EncryptedKeyError(ValueError):
    """The key file asks for a passphrase; an unattended board has nobody to type it."""


def _no_passphrase() -> str:
    # OpenSSL would otherwise prompt on the terminal (or fail obscurely under systemd).
    raise EncryptedKeyError("the private key is encrypted (a passphrase is asked for)")


def open_to_others(path: Path) -> int | None:
    """The permission bits of `path` when every user on the board may read or write it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    return mode if mode & (stat.S_IROTH | stat.S_IWOTH) else None


def tighten_hint(path: Path) -> str:
    return f"chmod 600 {path} (or chown root:signage-agent and chmod 640)"


def private_key_exposure(path: Path) -> str | None:
    """Why `path` is too open to hold the board's private key, or None."""
    mode = open_to_others(path)
    if mode is None:
        return None
    return f"{path} is open to every user on the board (mode {mode:04o}): {tighten_hint(path)}"


def load_client_certificate(context: ssl.SSLContext, cert_file: Path, key_file: Path) -> None:
    """Raises EncryptedKeyError, or ssl.SSLError / OSError like load_cert_chain."""
    context.load_cert_chain(str(cert_file), str(key_file), password=_no_passphrase)


def tls_files_problem(
    ca_file: Path | None, cert_file: Path | None, key_file: Path | None
) -> str | None:
    """Why these files cannot make a TLS connection, or None: the CA file must hold
    certificates, and the certificate and key must be PEM, match, and need no passphrase."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (ssl.SSLError, OSError) as exc:
            return f"ca_file {ca_file} holds no PEM CA certificate ({_reason(exc)})"
    if cert_file is None or key_file is None:
        return None
    try:
        load_client_certificate(context, cert_file, key_file)
    except EncryptedKeyError as exc:
        return f"key_file {key_file}: {exc}: store it unencrypted (openssl pkey -in … -out …)"
    except (ssl.SSLError, OSError) as exc:
        return (
            f"cert_file {cert_file} and key_file {key_file} are not a PEM certificate and "
            f"its own private key ({_reason(exc)})"
        )
    return None


def _reason(exc: ssl.SSLError | OSError) -> str:
    if isinstance(exc, ssl.SSLError):  # OpenSSL's reason: KEY_VALUES_MISMATCH → key values mismatch
        return str(exc.reason or "not PEM").lower().replace("_", " ")
    return str(exc.strerror or exc)
