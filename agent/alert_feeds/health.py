"""The heartbeat's view of the feeds: one source per feed in the `alerts` object.

CONTRACT §6: "The heartbeat's `alerts` object reports each source's last success." Each
feed is one source, named by its URL, beside the broker's (`kind` tells them apart).
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.alert_feeds.poller import FeedStatus
from agent.messages import FeedAlertSource

AlertSourceHealth = FeedAlertSource  # the name this package has exported since the start


def sources_health(statuses: Iterable[FeedStatus]) -> list[FeedAlertSource]:
    """One heartbeat entry per feed, in the order of `[alerts] feeds`."""
    return [
        FeedAlertSource(
            url=status.url,
            last_success_at=status.last_success_at,
            last_error=status.last_error,
            last_error_at=status.last_error_at,
            entries=status.entries,
        )
        for status in statuses
    ]
