"""The keys in force: the config's roots and the last keyring accepted (CONTRACT §7).

A keyring replaces the keys it brought before (a higher version only) and names the kids
revoked. The roots are the config file's: a keyring can neither remove nor replace one,
and one that tries is refused whole (a root's rotation is a visit, or a config push, by
design). The keyring accepted is kept in the state dir (written atomically before it is
announced), so a board restarted without its broker applies it at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydantic import ValidationError

from agent.caches import short_reason
from agent.messages.keyring import Keyring
from agent.storage import (
    StateFileProblem,
    StorageHealth,
    atomic_write,
    read_state_file,
    set_aside,
)
from agent.trust.keys import TrustedKey
from agent.validation import InvalidInput, error

log = logging.getLogger(__name__)

KEYRING_FILE: Final = "trust-keyring.json"
MAX_KEYRING_FILE_BYTES: Final = 256 * 1024  # 64 keys and 1024 revoked kids fit well within


@dataclass(frozen=True, slots=True)
class KeyringApplied:
    version: int
    keys: int
    revoked: int


@dataclass(frozen=True, slots=True)
class KeyringStale:
    version: int
    reason: str


class KeyringState:
    def __init__(self, roots: Iterable[TrustedKey], state_dir: Path, health: StorageHealth) -> None:
        self.roots = {key.kid: key for key in roots}
        self.path = state_dir / KEYRING_FILE
        self.health = health
        self.keyring: Keyring | None = None
        self.keys: dict[str, TrustedKey] = dict(self.roots)
        self.revoked: frozenset[str] = frozenset()

    @property
    def version(self) -> int | None:
        return None if self.keyring is None else self.keyring.version

    def load(self, *, quarantine: bool = True) -> None:
        """The keyring kept before a restart (no broker needed); a damaged file is set
        aside and reported, and only the roots are trusted until a keyring comes again.
        `quarantine=False` (`signage-agent verify` reading a board's state): reported only."""
        instead = "only the config's [trust] keys are trusted until the keyring is sent again"
        try:
            raw = read_state_file(self.path, MAX_KEYRING_FILE_BYTES)
            if raw is None:
                return
            keyring = Keyring.model_validate_json(raw, strict=True)
            self._check_roots(keyring)
        except StateFileProblem as problem:
            self._damaged(problem.reason, instead, quarantine)
            return
        except InvalidInput as exc:  # the config's roots changed since it was kept
            reason = "; ".join(e.message for e in exc.errors)
            self._damaged(f"no longer fits the config ({reason})", instead, quarantine)
            return
        except (ValidationError, ValueError, RecursionError) as exc:
            self._damaged(f"is not a valid keyring ({short_reason(exc)})", instead, quarantine)
            return
        self._apply(keyring)
        log.info("keyring version %d restored: %d keys trusted", keyring.version, len(self.keys))

    def _damaged(self, reason: str, instead: str, quarantine: bool) -> None:
        if quarantine:
            set_aside(self.path, reason, instead, self.health)
        else:
            self.health.problem(f"damaged:{self.path}", f"{self.path} {reason}; {instead}")

    def offer(self, keyring: Keyring) -> KeyringApplied | KeyringStale:
        """A keyring already verified (signed by a key that may sign `keyring`): applied
        when newer, kept on disk first. Raises `InvalidInput` when it touches a root."""
        held = self.version
        if held is not None and keyring.version <= held:
            reason = "already held" if keyring.version == held else f"older than version {held}"
            return KeyringStale(keyring.version, reason)
        self._check_roots(keyring)
        try:
            atomic_write(self.path, keyring.model_dump_json(exclude_none=True).encode())
        except OSError as exc:
            self.health.problem(
                f"write:{self.path}",
                f"cannot save the keyring to {self.path} ({exc.strerror or exc}): after a "
                "restart only the config's [trust] keys are trusted until it is sent again",
            )
        else:
            self.health.resolved(f"write:{self.path}")
        self._apply(keyring)
        return KeyringApplied(keyring.version, len(self.keys), len(self.revoked))

    def _check_roots(self, keyring: Keyring) -> None:
        problems = [
            error(
                f"keys.{i}.kid", f"'{key.kid}' is a root key of the config: no keyring replaces it"
            )
            for i, key in enumerate(keyring.keys)
            if key.kid in self.roots
        ]
        problems += [
            error(f"revoked.{i}", f"'{kid}' is a root key of the config: no keyring revokes it")
            for i, kid in enumerate(keyring.revoked)
            if kid in self.roots
        ]
        problems += [
            error(f"revoked.{i}", f"'{kid}' is both given in keys and revoked")
            for i, kid in enumerate(keyring.revoked)
            if kid in {key.kid for key in keyring.keys}
        ]
        if problems:
            raise InvalidInput(problems)

    def _apply(self, keyring: Keyring) -> None:
        keys = dict(self.roots)
        for entry in keyring.keys:
            keys[entry.kid] = TrustedKey.from_keyring(entry)
        self.keyring = keyring
        self.keys = keys
        self.revoked = frozenset(keyring.revoked)
