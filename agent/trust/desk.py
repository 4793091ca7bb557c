"""Trust inside the agent: the gate every inbound message passes, the keyring payloads
from `{root}/trust`, and what the heartbeat says (CONTRACT §7).

Built from `[trust]` (or its absence) at start. A board without `[trust]` gets a gate
with no keys: unsigned messages pass as before, a signed one is refused, and neither
this module's keys nor a crypto library are ever needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from agent.alert_kind import alert_id_of
from agent.config import TrustConfig, TrustKeyConfig
from agent.messages import EventBase, Keyring, KeyringAccepted, KeyringIgnored, TrustHealth
from agent.storage import StorageHealth
from agent.trust.gate import UNSIGNED, Admitted, TrustGate, refused
from agent.trust.jws import looks_like_jws, parse_jws
from agent.trust.keyring import KeyringApplied, KeyringState
from agent.trust.keys import TrustedKey, read_public_key
from agent.validation import InvalidInput, decode

log = logging.getLogger(__name__)

KEYRING_MAX_BYTES: Final = 256 * 1024


def _root(entry: TrustKeyConfig) -> TrustedKey:
    """A key of the config file: a root (its file was read when the config was checked)."""
    return TrustedKey(
        kid=entry.kid,
        public_bytes=read_public_key(entry.public_key),
        may_sign=frozenset(entry.may_sign),
        scopes=None if entry.scopes is None else frozenset(entry.scopes),
        not_after=entry.not_after,
        root=True,
    )


class TrustDesk:
    def __init__(
        self,
        config: TrustConfig | None,
        state_dir: Path,
        health: StorageHealth,
        *,
        clock_synced: Callable[[], bool | None],
        max_bytes: int,
    ) -> None:
        self.config = config
        self.keyring: KeyringState | None = None
        if config is not None:
            roots = [_root(entry) for entry in config.keys]
            self.keyring = KeyringState(roots, state_dir, health)
        self.gate = TrustGate(
            require_signatures=config is not None and config.require_signatures,
            keyring=self.keyring,
            clock_synced=clock_synced,
            max_bytes=max_bytes,
        )

    @property
    def command_max_age_s(self) -> int | None:
        return None if self.config is None else self.config.command_max_age_s

    def load(self) -> None:
        """The keyring kept before a restart: in force before any message is handled; and
        the keys' verifiers made (a board with [trust] checks signatures from its first
        message on: the import is paid at start, not by the first alert)."""
        if self.keyring is not None:
            self.keyring.load()
            self.gate.prepare()

    def admit(
        self,
        kind: Literal["playlist", "alert", "command", "assignment", "layout"],
        scope: str | None,
        payload: bytes,
        now: datetime,
        *,
        physical: bool = False,
    ) -> Admitted:
        admitted = self.gate.admit(kind, scope, payload, now, physical=physical)
        if admitted.kid is not None:
            log.info("%s signed by %s", kind, admitted.kid)
        return admitted

    def on_keyring(self, payload: bytes, now: datetime) -> list[EventBase]:
        """A keyring payload: signed by a key that may sign `keyring` (always, whatever
        `require_signatures` says), newer than the one held. Raises `InvalidInput`."""
        if not payload:
            # A cleared retained keyring: the board keeps the one it holds (a keyring is
            # replaced by a newer one, never dropped by an unsigned message).
            log.info("empty keyring message: the keyring held stays in force")
            return []
        admitted = self.gate.admit("keyring", None, payload, now)
        if admitted.kid is None:
            raise refused(UNSIGNED, "a keyring is always signed by a key that may sign keyring")
        keyring = decode(admitted.payload, Keyring, max_bytes=KEYRING_MAX_BYTES)
        assert self.keyring is not None  # a signed message passed: there are keys
        outcome = self.keyring.offer(keyring)
        if isinstance(outcome, KeyringApplied):
            log.info("keyring version %d in force: %d keys", outcome.version, outcome.keys)
            return [
                KeyringAccepted(
                    at=now,
                    version=outcome.version,
                    keys=outcome.keys,
                    revoked=outcome.revoked,
                    signed_by=admitted.kid,
                )
            ]
        return [KeyringIgnored(at=now, version=outcome.version, reason=outcome.reason)]

    def inbox_kind(self, payload: bytes) -> Literal["alert", "playlist"]:
        """What an inbox file is, signed or not: an alert when its (signed) JSON says so."""
        inner = payload
        if looks_like_jws(payload):
            try:
                inner = parse_jws(payload, max_bytes=self.gate.max_bytes).payload
            except InvalidInput:
                return "playlist"  # the gate says what is wrong with it
        return "alert" if alert_id_of(inner) is not None else "playlist"

    def health(self) -> TrustHealth | Literal["off"]:
        """The heartbeat's `trust`."""
        if self.config is None or self.keyring is None:
            return "off"
        return TrustHealth(
            require_signatures=self.config.require_signatures,
            keyring_version=self.keyring.version,
            keys=len(self.keyring.keys),
            expiry_held=sorted(self.gate.expiry_held),
        )
