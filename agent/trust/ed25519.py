"""The board's one cryptographic step: checking an Ed25519 signature (RFC 8032), with
libsodium through PyNaCl; and reading a PEM public key file without any crypto library.

Why PyNaCl here and `cryptography` for the rest (`keys`, `sign`, doctor's certificate
read): both are the Python Cryptographic Authority's, but `cryptography` carries its own
OpenSSL, which costs a board 8.8 MB of RSS once loaded against PyNaCl's 2.2 MB (measured
beside the agent's own `ssl`; docs/performance.md), and a board with `[trust]` has 64 MB
for everything (issue 18). libsodium's verification is also the strict one: it refuses
non-canonical signatures and small-order keys.

Loaded by the first key a board prepares (agent/trust/gate.py `prepare`, at start), never
by a board without `[trust]`.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from nacl.signing import VerifyKey

PUBLIC_KEY_BYTES: Final = 32
# RFC 8410 §4: an Ed25519 SubjectPublicKeyInfo is exactly this DER and the 32 key bytes
# (SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (no unused bits) }); the parameters
# MUST be absent, so there is no other valid encoding to accept.
_SPKI_PREFIX: Final = bytes.fromhex("302a300506032b6570032100")
# What a PEM public key of another kind is, for the refusal (the DER of each OID).
_OTHER_KEYS: Final = (
    (bytes.fromhex("2a864886f70d010101"), "RSA"),
    (bytes.fromhex("2a8648ce3d0201"), "EC"),
    (bytes.fromhex("2a8648ce380401"), "DSA"),
    (bytes.fromhex("2b656e"), "X25519"),
    (bytes.fromhex("2b656f"), "X448"),
    (bytes.fromhex("2b6571"), "Ed448"),
)
_PEM_BEGIN: Final = b"-----BEGIN PUBLIC KEY-----"
_PEM_END: Final = b"-----END PUBLIC KEY-----"


def verifier(public_bytes: bytes) -> VerifyKey:
    """A key to check signatures with (made once per key: agent/trust/gate.py keeps it)."""
    from nacl.signing import VerifyKey

    return VerifyKey(public_bytes)


def signed_by(key: VerifyKey, message: bytes, signature: bytes) -> bool:
    """Whether `key` made `signature` (64 bytes: agent/trust/jws.py checks) over `message`."""
    from nacl.exceptions import BadSignatureError

    try:
        key.verify(message, signature)
    except BadSignatureError:
        return False
    return True


def pem_public_bytes(data: bytes) -> bytes:
    """The raw key of a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) of Ed25519; `ValueError`
    saying what it is instead."""
    if b"PRIVATE KEY" in data:
        raise ValueError("a private key: give the board only the public key")
    text = data.strip()
    if not text.startswith(_PEM_BEGIN) or _PEM_END not in text:
        raise ValueError(
            "not a PEM public key (it must start with -----BEGIN PUBLIC KEY----- "
            "and end with -----END PUBLIC KEY-----)"
        )
    body = text[len(_PEM_BEGIN) : text.index(_PEM_END)]
    try:
        der = base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not a PEM public key (its body is not base64)") from None
    if len(der) == len(_SPKI_PREFIX) + PUBLIC_KEY_BYTES and der.startswith(_SPKI_PREFIX):
        return der[len(_SPKI_PREFIX) :]
    kind = next((name for oid, name in _OTHER_KEYS if oid in der[:32]), None)
    if kind is not None:
        raise ValueError(f"not an Ed25519 key (a {kind})")
    raise ValueError("not an Ed25519 public key (RFC 8410 SubjectPublicKeyInfo)")
