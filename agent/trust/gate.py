"""The trust gate: every inbound message passes it before it is decoded (CONTRACT §7).

`admit` returns the message to decode (the JWS payload of a signed one, the bytes as
they came of an unsigned one) and which key signed it, or raises `InvalidInput` whose
one problem starts with the reason, in these words:

    unsigned · bad signature · unknown kid · revoked · not allowed to sign this kind ·
    outside its scopes · expired key

The policy:

- `[trust] require_signatures = true`: an unsigned message is refused (an empty
  retained payload too: it cannot be signed; a signed cancel ends an alert, a signed
  playlist replaces a channel's content). A file in the inbox folder is physical access
  (a technician's USB stick): accepted unsigned, checked when it is signed.
- `require_signatures = false`: unsigned messages are accepted as before; a signed one
  is checked all the same (a bad signature is never accepted because it was optional).
- Without `[trust]`: there is no key to check a signature with, so a signed message is
  refused ("signed message, but this board has no [trust] keys"), and no crypto library
  is ever loaded.

A key's `not_after` is judged on the board's clock while it is synchronised. While it
is not, the last decision taken on a synchronised clock for that key holds (a board
booting with a clock years behind must not revive an expired key, nor one years ahead
kill a valid one); a key never judged before is judged on the board's clock. The gate
says so in the decision's `note` and in the heartbeat (`expiry_held`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from agent.messages.keyring import SignedKind
from agent.trust.jws import Jws, looks_like_jws, parse_jws, verify
from agent.trust.keys import TrustedKey
from agent.validation import InvalidInput, error, printable

if TYPE_CHECKING:
    from nacl.signing import VerifyKey

    from agent.trust.keyring import KeyringState

log = logging.getLogger(__name__)

UNSIGNED: Final = "unsigned"
BAD_SIGNATURE: Final = "bad signature"
UNKNOWN_KID: Final = "unknown kid"
REVOKED: Final = "revoked"
WRONG_KIND: Final = "not allowed to sign this kind"
OUTSIDE_SCOPES: Final = "outside its scopes"
EXPIRED: Final = "expired key"
NO_KEYS: Final = "signed message, but this board has no [trust] keys"


@dataclass(frozen=True, slots=True)
class Admitted:
    payload: bytes  # what to decode: the signed message, or the bytes as they came
    kid: str | None  # the key that signed it; None for an unsigned message
    note: str | None = None  # something the board could not judge (its clock), said in the log


def refused(reason: str, detail: str = "") -> InvalidInput:
    return InvalidInput([error("$", f"{reason}: {detail}" if detail else reason)])


class TrustGate:
    def __init__(
        self,
        *,
        require_signatures: bool,
        keyring: KeyringState | None,
        clock_synced: Callable[[], bool | None],
        max_bytes: int,
    ) -> None:
        self.require_signatures = require_signatures
        self.keyring = keyring  # None: no [trust] section
        self.clock_synced = clock_synced
        self.max_bytes = max_bytes
        self._verifiers: dict[tuple[str, bytes], VerifyKey] = {}
        # The last expiry decision per kid taken on a synchronised clock: expired or not.
        self._expired: dict[str, bool] = {}
        self.expiry_held: set[str] = set()  # kids judged by a kept decision just now

    def admit(
        self,
        kind: SignedKind,
        scope: str | None,
        payload: bytes,
        now: datetime,
        *,
        physical: bool = False,
    ) -> Admitted:
        """The message to decode, or `InvalidInput` with the reason (see the module)."""
        if not looks_like_jws(payload):
            if self.require_signatures and not physical:
                shown = "an empty payload" if not payload else "a message"
                raise refused(UNSIGNED, f"{shown} without a signature; this board requires them")
            return Admitted(payload, None)
        if self.keyring is None:
            raise refused(NO_KEYS, "add [trust] keys to check it, or send it unsigned")
        try:
            jws = parse_jws(payload, max_bytes=self.max_bytes)
        except InvalidInput as exc:
            raise refused(BAD_SIGNATURE, "; ".join(e.message for e in exc.errors)) from None
        key = self._key_of(jws)
        if not verify(jws, self._verifier(key)):
            raise refused(BAD_SIGNATURE, f"key '{key.kid}' did not sign these bytes")
        if kind not in key.may_sign:
            allowed = ", ".join(sorted(key.may_sign))
            raise refused(WRONG_KIND, f"key '{key.kid}' may sign {allowed}, not {kind}")
        if scope is not None and key.scopes is not None and scope not in key.scopes:
            scopes = ", ".join(sorted(key.scopes))
            raise refused(OUTSIDE_SCOPES, f"key '{key.kid}' signs for {scopes}, not {scope}")
        note = self._check_expiry(key, now)
        return Admitted(jws.payload, key.kid, note)

    def prepare(self) -> None:
        """Load the crypto library and the keys in force now, before any message: the
        first signed alert must not wait for the import."""
        if self.keyring is not None:
            for key in self.keyring.keys.values():
                self._verifier(key)

    def _key_of(self, jws: Jws) -> TrustedKey:
        assert self.keyring is not None
        kid = printable(jws.kid)
        if jws.kid in self.keyring.revoked:
            raise refused(REVOKED, f"key '{kid}' was revoked (keyring {self.keyring.version})")
        key = self.keyring.keys.get(jws.kid)
        if key is None:
            raise refused(UNKNOWN_KID, f"no trusted key is called '{kid}'")
        return key

    def _verifier(self, key: TrustedKey) -> VerifyKey:
        found = self._verifiers.get((key.kid, key.public_bytes))  # built once per key
        if found is None:
            from agent.trust.ed25519 import verifier

            found = verifier(key.public_bytes)
            self._verifiers[(key.kid, key.public_bytes)] = found
        return found

    def _check_expiry(self, key: TrustedKey, now: datetime) -> str | None:
        if key.not_after is None:
            return None
        until = key.not_after.isoformat()
        if self.clock_synced() is True:
            expired = now > key.not_after
            self._expired[key.kid] = expired
            self.expiry_held.discard(key.kid)
            note = None
        elif key.kid in self._expired:
            expired = self._expired[key.kid]
            self.expiry_held.add(key.kid)
            state = "expired" if expired else "valid"
            note = f"clock not synchronised: key '{key.kid}' kept as {state} (not_after {until})"
        else:
            expired = now > key.not_after
            note = f"clock not synchronised: key '{key.kid}' judged on the board's clock"
        if expired:
            held = f" ({note})" if note else ""
            raise refused(EXPIRED, f"key '{key.kid}' expired at {until}{held}")
        if note:
            log.warning("%s", note)
        return note
