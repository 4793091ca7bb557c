"""What the alert-feed poller's thread puts on the core's queue.

Apart from agent/alert_feeds/ so that the core's queue can name these messages without
loading the poller: a board without `[alerts] feeds` never imports the package (its XML
reader and HTTP client are memory a small board does not spend for nothing).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FeedAlert:
    """One CAP document from a feed, as the bytes the server sent."""

    source: str  # the feed's URL as configured
    payload: bytes
    entry_id: str  # the Atom entry id, RSS guid, or the CAP identifier of a single document


@dataclass(frozen=True, slots=True)
class FeedPollerRestarted:
    """The poller's loop failed (a bug) and was started again (the core reports it)."""

    message: str
