"""Replays of signed commands (CONTRACT §7): a signed command is a capability, and a
recorded one must not work again later. The ids already run are remembered too, but
only the last few hundred, and not by another board; `issued_at` bounds the rest."""

from __future__ import annotations

from datetime import datetime


def stale_command(issued: datetime | None, now: datetime, max_age_s: int) -> str | None:
    """Why a signed command issued at `issued` is too old (or too new) to run at `now`
    on the board's clock, or None when it may run."""
    if issued is None:
        return "a signed command needs issued_at (when it was issued)"
    age = (now - issued).total_seconds()
    if age > max_age_s:
        return (
            f"issued at {issued.isoformat()}, {age:.0f} s ago: older than "
            f"[trust] command_max_age_s ({max_age_s} s), refused as a replay"
        )
    if age < -max_age_s:
        return f"issued at {issued.isoformat()}, {-age:.0f} s in the board's future"
    return None
