"""`[trust]` (CONTRACT §7): signed messages, and the root keys this board trusts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator, model_validator

from agent.config_base import Section
from agent.messages import MAX_KEYRING_KEYS, Kid, ScopeName, SignedKind


class TrustKeyConfig(Section):
    """A root key (CONTRACT §7): trusted from the config file, so no keyring removes it."""

    kid: Kid = Field(description="The key's id, as signed messages name it (JWS kid)")
    public_key: Path = Field(description="A JWK or PEM public key file")
    may_sign: Annotated[list[SignedKind], Field(min_length=1)] = Field(
        description="What it may sign: playlist, alert, command, assignment, layout, keyring"
    )
    scopes: list[ScopeName] | None = Field(
        default=None, description="Channels or groups it may sign for; absent: all"
    )
    not_after: datetime | None = Field(
        default=None, description="After this time (with its offset) its signatures are refused"
    )

    @field_validator("public_key")
    @classmethod
    def _a_public_key(cls, path: Path, info: ValidationInfo) -> Path:
        if (info.context or {}).get("files_elsewhere", False):
            return path  # `validate` on a laptop: the key file is on the board
        from agent.trust.keys import read_public_key

        read_public_key(path)  # ValueError naming the file and what is wrong
        return path

    @field_validator("not_after")
    @classmethod
    def _with_offset(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give the time with its offset, e.g. 2027-01-01T00:00:00+07:00")
        return value

    @field_validator("may_sign")
    @classmethod
    def _distinct_kinds(cls, kinds: list[SignedKind]) -> list[SignedKind]:
        if len(set(kinds)) != len(kinds):
            raise ValueError("a kind is listed twice")
        return kinds


class TrustConfig(Section):
    """Addition (CONTRACT §7): signed messages, and the keys this board trusts."""

    # Refuse every unsigned message from the broker (inbox files are physical access).
    require_signatures: bool = False
    keys: Annotated[list[TrustKeyConfig], Field(max_length=MAX_KEYRING_KEYS)] = Field(
        default_factory=list
    )
    # A signed command older than this (its `issued_at`) is refused: no replays.
    command_max_age_s: Annotated[int, Field(ge=10, le=86_400)] = 300

    @field_validator("keys")
    @classmethod
    def _distinct_kids(cls, keys: list[TrustKeyConfig]) -> list[TrustKeyConfig]:
        kids = [key.kid for key in keys]
        if len(set(kids)) != len(kids):
            raise ValueError("a kid is listed twice")
        return keys

    @model_validator(mode="after")
    def _keys_to_check_with(self) -> TrustConfig:
        if self.require_signatures and not self.keys:
            raise ValueError("require_signatures = true needs at least one [[trust.keys]]")
        return self
