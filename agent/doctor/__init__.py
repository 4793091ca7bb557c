"""`signage-agent doctor`: a technician's checks of one board, one line each.

`✓` passed; `✗` failed, followed by `→` what to do; `–` skipped, and why. The exit
status is 1 when any check failed. docs/technician.md explains every line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from agent.config import AgentConfig, ConfigError, load_config
from agent.doctor.access import run_as_service_hint
from agent.doctor.broker import check_broker
from agent.doctor.check import Check, Outcome
from agent.doctor.display import DisplayDoctor
from agent.doctor.feeds import check_feeds
from agent.doctor.host import check_clock, check_fonts, check_inbox, check_state_dir
from agent.doctor.password import check_password_file, check_password_permissions
from agent.doctor.serial import ControllerProbe, SerialDoctor, load_probe
from agent.doctor.tls import check_board_certificate
from agent.doctor.trust import check_trust
from agent.doctor.video import check_video

__all__ = ["Check", "Outcome", "check_config", "doctor_checks", "run_doctor"]


def check_config(path: Path) -> tuple[Check, AgentConfig | None]:
    try:
        config = load_config(path)
    except ConfigError as exc:
        what = f"config {path}: {len(exc.problems)} problem(s)"
        return Check.failed(what, _config_fix(exc.problems)), None
    return Check.passed(f"config {path} is valid"), config


def _config_fix(problems: list[str]) -> str:
    lines = ["fix these, then run doctor again:", *problems]
    if any("cannot read" in problem for problem in problems):
        lines.append(
            "a file the config names must exist and be readable by signage-agent "
            f"(ls -l it); if it is there, {run_as_service_hint()}"
        )
    return "\n".join(lines)


def check_identity(config: AgentConfig) -> list[Check]:
    board = config.board
    checks = [
        Check.passed(
            f"board {board.id} “{board.name}”, "
            + (f"district {board.district}, " if board.district else "no district, ")
            + f"commune {board.commune}, groups {', '.join(board.groups) or 'none'}; "
            f"MQTT client id {board.id}"
        )
    ]
    mqtt = config.mqtt
    if mqtt is not None and mqtt.username is not None and mqtt.username != board.id:
        checks.append(
            Check.failed(
                f"MQTT user name {mqtt.username} is not the board id {board.id}",
                "the broker lets a board use only the topics named by its user name: set "
                f'[mqtt] username = "{board.id}" and that account\'s password',
            )
        )
    return checks


def doctor_checks(
    config: AgentConfig, probe: ControllerProbe | None
) -> list[Callable[[], list[Check]]]:
    """The checks after the config's, in the order a technician fixes things."""

    def serial() -> list[Check]:
        if config.serial is None:
            return [Check.skipped("no [serial] section: no LED controller on this board")]
        return SerialDoctor(config.serial, probe).checks()

    def inbox() -> list[Check]:
        found = check_inbox(config)
        return [found] if found else []

    return [
        lambda: check_identity(config),
        lambda: check_password_file(config),
        lambda: check_password_permissions(config),
        lambda: check_board_certificate(config),
        lambda: check_broker(config),
        lambda: check_feeds(config),
        lambda: check_trust(config),
        serial,
        lambda: DisplayDoctor(config).checks(),
        lambda: [check_video()],
        lambda: [check_fonts()],
        lambda: [check_clock(config)],
        lambda: [check_state_dir(config)],
        inbox,
    ]


def run_doctor(
    config_path: Path,
    out: TextIO,
    *,
    probe_loader: Callable[[], ControllerProbe | None] = load_probe,
) -> int:
    first, config = check_config(config_path)
    first.show(out)
    failed = 0 if first.ok else 1
    if config is not None:
        for step in doctor_checks(config, probe_loader()):
            for check in step():
                check.show(out)
                failed += not check.ok
            out.flush()
    if failed:
        print(f"{failed} problem(s): fix the ✗ lines, then run doctor again.", file=out)
        return 1
    print("All checks passed.", file=out)
    return 0
