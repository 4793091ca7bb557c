"""The heartbeat's view of the feeds: one entry per source in the `alerts` object.

CONTRACT §6: "The heartbeat's `alerts` object reports each source's last success." Each
feed is one source, named by its URL; `kind` leaves room for the MQTT path beside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from agent.alert_feeds.poller import FeedStatus
from agent.messages import Outbound, Timestamp


class AlertSourceHealth(Outbound):
    kind: Literal["feed"] = "feed"
    url: str
    last_success_at: Timestamp | None
    last_error: str | None
    last_error_at: Timestamp | None
    entries: int  # entries in the feed when it was last read


def sources_health(statuses: Iterable[FeedStatus]) -> list[AlertSourceHealth]:
    """One heartbeat entry per feed, in the order of `[alerts] feeds`."""
    return [
        AlertSourceHealth(
            url=status.url,
            last_success_at=status.last_success_at,
            last_error=status.last_error,
            last_error_at=status.last_error_at,
            entries=status.entries,
        )
        for status in statuses
    ]
