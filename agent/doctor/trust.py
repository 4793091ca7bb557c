"""Signed messages (`[trust]`, CONTRACT §7): whether this board checks who sent what it
shows, its keys, and the keyring it keeps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from agent.config import AgentConfig
from agent.doctor.check import Check
from agent.storage import StorageHealth

EXPIRY_WARNING = timedelta(days=30)  # time enough to roll out a new key by keyring


def check_trust(config: AgentConfig, now: datetime | None = None) -> list[Check]:
    trust = config.trust
    if trust is None:
        return [
            Check.warning(
                "no [trust] section: this board shows whatever anyone who can publish on "
                "the broker sends (a leaked board password is enough for a fake alert)",
                "add [trust] with the city's keys and require_signatures = true "
                "(docs/security.md, docs/configuration.md)",
            )
        ]
    moment = now or datetime.now(UTC)
    checks = [_mode(config)]
    checks += [_key(entry.kid, entry.may_sign, entry.not_after, moment) for entry in trust.keys]
    if not any("keyring" in entry.may_sign for entry in trust.keys):
        checks.append(
            Check.warning(
                "no [trust] key may sign keyring: keys can only be changed in this file",
                'give the city\'s root key may_sign = ["keyring"] so keys rotate without a visit',
            )
        )
    checks.append(_kept_keyring(config))
    return checks


def _mode(config: AgentConfig) -> Check:
    assert config.trust is not None
    if config.trust.require_signatures:
        return Check.passed("signatures required: unsigned messages from the broker are refused")
    return Check.warning(
        "signatures optional: unsigned messages are still accepted (signed ones are checked)",
        "once every sender signs, set [trust] require_signatures = true",
    )


def _key(kid: str, may_sign: Sequence[str], not_after: datetime | None, now: datetime) -> Check:
    what = f"trust key {kid} may sign {', '.join(may_sign)}"
    if not_after is None:
        return Check.passed(what)
    if not_after <= now:
        return Check.warning(
            f"{what}, but it expired on {not_after:%Y-%m-%d}: its signatures are refused",
            "send a keyring with its successor, or replace it in [trust]",
        )
    if not_after - now < EXPIRY_WARNING:
        return Check.warning(
            f"{what} until {not_after:%Y-%m-%d}: it expires within 30 days",
            "roll out its successor by keyring now",
        )
    return Check.passed(f"{what} until {not_after:%Y-%m-%d}")


def _kept_keyring(config: AgentConfig) -> Check:
    from agent.health import clock_synced
    from agent.trust.desk import TrustDesk

    said: list[str] = []
    desk = TrustDesk(
        config.trust,
        config.storage.state_dir,
        StorageHealth(said.append),
        clock_synced=clock_synced,
        max_bytes=config.content.max_payload_bytes,
    )
    assert desk.keyring is not None
    if desk.keyring.path.exists():
        desk.keyring.load(quarantine=False)  # a look: the agent sets damage aside itself
    if said:
        return Check.warning(
            said[0], "the board sets it aside at start; the broker's keyring replaces it"
        )
    if desk.keyring.version is None:
        return Check.skipped("no keyring kept yet: only the config's keys are trusted")
    keys = ", ".join(sorted(desk.keyring.keys))
    return Check.passed(f"keyring version {desk.keyring.version} kept: trusts {keys}")
