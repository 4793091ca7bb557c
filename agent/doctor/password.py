"""The password file: the board logs in with its first line (docs/configuration.md)."""

from __future__ import annotations

from agent.config import AgentConfig
from agent.doctor.check import Check
from agent.tls_files import open_to_others, tighten_hint


def check_password_file(config: AgentConfig) -> list[Check]:
    """Says when `password_file` holds more than the password's line, or an empty one."""
    mqtt = config.mqtt
    if mqtt is None or mqtt.password_file is None:
        return []
    path = mqtt.password_file
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        return [Check.failed(f"cannot read password file {path}: {reason}", "see the config check")]
    if not lines or not lines[0]:
        return [
            Check.failed(
                f"password file {path}: the first line is empty",
                "put the board's MQTT password on the first line of the file",
            )
        ]
    if len(lines) > 1:
        return [
            Check.passed(
                f"password file {path} has {len(lines)} lines: the board logs in with the "
                "first line only (keep the password alone on one line)"
            )
        ]
    return []


def check_password_permissions(config: AgentConfig) -> list[Check]:
    """A warning when every user on the board may read the password file: not a refusal
    (unlike an open private key's, agent/tls_files.py), so boards installed before this
    check keep working while doctor says what to tighten."""
    mqtt = config.mqtt
    if mqtt is None or mqtt.password_file is None:
        return []
    path = mqtt.password_file
    try:
        mode = open_to_others(path)
    except OSError:
        return []  # the config check says the file cannot be read
    if mode is None:
        return []
    return [
        Check.warning(
            f"password file {path} is open to every user on the board (mode {mode:04o})",
            tighten_hint(path),
        )
    ]
