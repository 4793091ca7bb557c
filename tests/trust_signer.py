"""A signer of the tests' own (CONTRACT §7's wire form, written from the RFCs, not from
the agent's code): Ed25519 keys made with `cryptography`, compact JWS built by hand, so
the agent's reader is checked against an independent writer."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class SigningKey:
    kid: str
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": b64(self.public_raw), "kid": self.kid}

    def pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
        )

    def write_jwk(self, directory: Path) -> Path:
        path = directory / f"{self.kid}.pub.jwk"
        path.write_text(json.dumps(self.jwk()), encoding="utf-8")
        return path

    def sign(self, payload: bytes, *, cty: str | None = None, **header: object) -> bytes:
        """A compact JWS of `payload` (cty from its first byte unless given)."""
        if cty is None:
            cty = "cap+xml" if payload.lstrip().startswith(b"<") else "json"
        protected: dict[str, object] = {"alg": "EdDSA", "kid": self.kid, "cty": cty}
        protected.update(header)
        head = b64(json.dumps(protected).encode())
        body = b64(payload)
        signature = self.private.sign(f"{head}.{body}".encode("ascii"))
        return f"{head}.{body}.{b64(signature)}".encode("ascii")

    def sign_json(self, message: dict[str, Any]) -> bytes:
        return self.sign(json.dumps(message).encode())


def keyring(version: int, keys: list[tuple[SigningKey, list[str]]], revoked: list[str]) -> bytes:
    """A keyring message (unsigned JSON)."""
    entries = [{"kid": key.kid, "public_key": key.jwk(), "may_sign": kinds} for key, kinds in keys]
    message = {"type": "keyring", "version": version, "keys": entries, "revoked": revoked}
    return json.dumps(message).encode()


def trust_toml(keys: list[tuple[Path, str, list[str]]], *, require: bool = True) -> str:
    """A `[trust]` section with `[[trust.keys]]` (path, kid, may_sign) entries."""
    lines = ["[trust]", f"require_signatures = {'true' if require else 'false'}"]
    for path, kid, kinds in keys:
        lines += [
            "[[trust.keys]]",
            f'kid = "{kid}"',
            f'public_key = "{path}"',
            f"may_sign = {json.dumps(kinds)}",
        ]
    return "\n".join(lines) + "\n"
