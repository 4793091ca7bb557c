"""The board's retained presence (CONTRACT §3, status): online, or offline and why."""

from __future__ import annotations

from typing import Literal

from agent.messages.base import Outbound, Timestamp


class Status(Outbound):
    """Retained presence on `{root}/board/{b}/status`."""

    state: Literal["online", "offline"]
    since: Timestamp | None = None
    agent_version: str | None = None
    reason: Literal["connection-lost", "shutdown"] | None = None
