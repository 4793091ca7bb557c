"""The keys a board trusts: what each may sign, for which scopes, until when; and the
public key files of `[[trust.keys]]` (a JWK, or a PEM SubjectPublicKeyInfo).

A key is kept as its 32 raw bytes: the JWK form needs only base64url, and the PEM form
of an Ed25519 key is one fixed DER prefix and the key (agent/trust/ed25519.py), so no key
file needs a crypto library to be read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from agent.messages.keyring import KeyringKey, PublicJwk, SignedKind
from agent.trust.ed25519 import PUBLIC_KEY_BYTES, pem_public_bytes
from agent.trust.jws import b64url_decode, b64url_encode
from agent.validation import InvalidInput

MAX_KEY_FILE_BYTES: Final = 16 * 1024  # a JWK or a PEM public key is a few hundred bytes


@dataclass(frozen=True, slots=True)
class TrustedKey:
    kid: str
    public_bytes: bytes  # the raw Ed25519 public key
    may_sign: frozenset[SignedKind]
    scopes: frozenset[str] | None  # None: every scope
    not_after: datetime | None
    root: bool  # from the config file: no keyring can remove or replace it

    @classmethod
    def from_keyring(cls, entry: KeyringKey) -> TrustedKey:
        return cls(
            kid=entry.kid,
            public_bytes=jwk_public_bytes(entry.public_key.model_dump(exclude_none=True)),
            may_sign=frozenset(entry.may_sign),
            scopes=None if entry.scopes is None else frozenset(entry.scopes),
            not_after=entry.not_after,
            root=False,
        )


def jwk_public_bytes(jwk: Mapping[str, object]) -> bytes:
    """The raw key of an Ed25519 JWK; `ValueError` saying what is wrong."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError('not an Ed25519 JWK (needs "kty": "OKP", "crv": "Ed25519")')
    if "d" in jwk:
        raise ValueError("a private key (it has d): give the board only the public key")
    x = jwk.get("x")
    if not isinstance(x, str):
        raise ValueError('no "x" (the public key)')
    try:
        raw = b64url_decode(x.encode("ascii"), "x")
    except (InvalidInput, UnicodeEncodeError):
        raise ValueError('"x" is not base64url') from None
    if len(raw) != PUBLIC_KEY_BYTES:
        raise ValueError(f'"x" is {len(raw)} bytes; an Ed25519 key has {PUBLIC_KEY_BYTES}')
    return raw


def public_jwk(public_bytes: bytes, kid: str | None = None) -> PublicJwk:
    return PublicJwk(
        kty="OKP", crv="Ed25519", x=b64url_encode(public_bytes).decode("ascii"), kid=kid
    )


def parse_public_key(data: bytes) -> bytes:
    """The raw key of a JWK or PEM public key file's bytes; `ValueError` saying why not."""
    text = data.lstrip()
    if text.startswith(b"-----BEGIN"):
        return pem_public_bytes(data)
    if not text.startswith(b"{"):
        raise ValueError("neither a JWK (JSON) nor a PEM public key")
    try:
        jwk = json.loads(data)
    except (ValueError, RecursionError):
        raise ValueError("not JSON (a JWK file is one JSON object)") from None
    if not isinstance(jwk, dict):
        raise ValueError("not a JSON object")
    return jwk_public_bytes(jwk)


def read_public_key(path: Path) -> bytes:
    """The raw key in a `[[trust.keys]] public_key` file; `ValueError` saying why not."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise ValueError(f"{path} is larger than a public key file ({MAX_KEY_FILE_BYTES} bytes)")
    try:
        return parse_public_key(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
