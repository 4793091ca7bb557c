"""`signage-agent verify --config PATH [--topic TOPIC] MESSAGE`: would a board with this
config accept the message, and why (CONTRACT §7). The trust half is agent/trust/verify.py,
the message half `validate`'s."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from agent.config import AgentConfig
from agent.trust.verify import (
    EX_REFUSED,
    MAX_MESSAGE_BYTES,
    decide,
    replay_problems,
    route_of,
    trust_desk,
)
from agent.validate import check_payload


def verify_message(
    config: AgentConfig, path: Path, topic: str | None, out: TextIO, now: datetime | None = None
) -> int:
    """Prints `MESSAGE: accepted (why; what)` or `MESSAGE: refused: why`; 0 or 1."""
    try:
        with path.open("rb") as file:
            payload = file.read(MAX_MESSAGE_BYTES + 1)
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror or exc}", file=out)
        return EX_REFUSED
    route = route_of(config, topic, payload)
    if isinstance(route, str):
        print(f"{path}: refused: {route}", file=out)
        return EX_REFUSED
    desk = trust_desk(config, out)
    moment = now or datetime.now(UTC)
    verdict, why, inner = decide(desk, route, payload, moment)
    if verdict == "refused":
        print(f"{path}: refused: {why}", file=out)
        return EX_REFUSED
    what, problems = check_payload(inner)
    problems += replay_problems(desk, route, why, inner, moment)
    if problems:
        for problem in problems:
            print(f"{path}: refused: {problem}", file=out)
        return EX_REFUSED
    print(f"{path}: accepted ({why}; {what})", file=out)
    return 0
