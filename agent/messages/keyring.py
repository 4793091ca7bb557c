"""The keyring (CONTRACT §7): the keys a board trusts besides the roots in its config,
and the kids revoked; retained on `{root}/trust`, signed by a key that may sign
`keyring`. Also the words both the config's `[[trust.keys]]` and the keyring use: what a
key may sign, for which scopes, until when."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, field_validator

from agent.messages.base import Identifier, Inbound, Outbound
from display_layouts.input_problems import named_pattern

# What a key may sign: the kinds of signed message (CONTRACT §7).
SignedKind = Literal["playlist", "alert", "command", "assignment", "layout", "keyring"]
SIGNED_KINDS: tuple[SignedKind, ...] = (
    "playlist",
    "alert",
    "command",
    "assignment",
    "layout",
    "keyring",
)
MAX_KEYRING_KEYS = 64  # authorities and their rotations: dozens, not thousands
MAX_REVOKED = 1024
MAX_SCOPES = 64

# A scope a key may sign for: a channel name (`city`, `district`, `commune`, `board`) or a
# group (`group:truong-hoc`).
SCOPE_PATTERN = named_pattern(
    r"^(group:)?[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
    "a channel (city, district, commune, board) or a group as group:NAME",
)
ScopeName = Annotated[str, StringConstraints(max_length=80, pattern=SCOPE_PATTERN)]
# A key id: what the JWS header's `kid` names, the key file's NAME for `keys generate`.
Kid = Identifier
# The 32 bytes of an Ed25519 public key, base64url without padding: 43 characters.
PublicX = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$")]


def _distinct(values: list[str], what: str) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError(f"{what} listed twice")
    return values


class PublicJwk(Inbound):
    """An Ed25519 public key as a JWK (RFC 8037)."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: PublicX = Field(description="The public key, base64url (32 bytes)")
    kid: Kid | None = None


class KeyringKey(Inbound):
    kid: Kid
    public_key: PublicJwk
    may_sign: Annotated[list[SignedKind], Field(min_length=1)]
    scopes: Annotated[list[ScopeName], Field(max_length=MAX_SCOPES)] | None = Field(
        default=None, description="Channels or groups it may sign for; absent: all"
    )
    not_after: AwareDatetime | None = Field(
        default=None, description="After this time its signatures are refused"
    )

    @field_validator("may_sign")
    @classmethod
    def _distinct_kinds(cls, kinds: list[SignedKind]) -> list[SignedKind]:
        _distinct(list(kinds), "a kind is")
        return kinds

    @field_validator("scopes")
    @classmethod
    def _distinct_scopes(cls, scopes: list[str] | None) -> list[str] | None:
        return None if scopes is None else _distinct(scopes, "a scope is")


class Keyring(Inbound):
    type: Literal["keyring"]
    version: Annotated[int, Field(ge=1, le=2**53)]
    keys: Annotated[list[KeyringKey], Field(max_length=MAX_KEYRING_KEYS)]
    revoked: Annotated[list[Kid], Field(max_length=MAX_REVOKED)] = Field(default_factory=list)

    @field_validator("keys")
    @classmethod
    def _distinct_kids(cls, keys: list[KeyringKey]) -> list[KeyringKey]:
        _distinct([key.kid for key in keys], "a kid is")
        return keys

    @field_validator("revoked")
    @classmethod
    def _distinct_revoked(cls, revoked: list[str]) -> list[str]:
        return _distinct(revoked, "a revoked kid is")


class TrustHealth(Outbound):
    """The heartbeat's `trust` object when `[trust]` is configured (else `"off"`)."""

    require_signatures: bool
    keyring_version: int | None  # the keyring in force; null: only the config's roots
    keys: int  # keys trusted now: the roots and the keyring's, less the revoked
    # Keys with a `not_after` whose last decision is kept because the board's clock is
    # not synchronised (their expiry cannot be judged now).
    expiry_held: list[str] = Field(default_factory=list)
