"""The second path for alerts (CONTRACT §6): CAP feeds polled over https.

`[alerts] feeds` lists Atom or RSS feeds of CAP documents, or single CAP documents. The
poller fetches them with conditional requests and hands each CAP document on, as the
bytes the server sent, to the same path an MQTT alert payload takes; it does not parse
CAP itself.

- `http.py`: one conditional GET on the hardened downloader's rules (https only).
- `reading.py`: what a feed body holds (defusedxml, no DTD).
- `poller.py`: the worker thread, per-source state, back-off and statuses.
- `health.py`: the statuses as the heartbeat's `alerts` sources.

What the poller hands on (`FeedAlert`) is agent/feed_reports.py's: the core's queue names
it without loading this package.
"""

from agent.alert_feeds.health import AlertSourceHealth, sources_health
from agent.alert_feeds.poller import (
    FeedPoller,
    FeedSettings,
    FeedStatus,
    feed_settings_from,
)
from agent.feed_reports import FeedAlert

__all__ = [
    "AlertSourceHealth",
    "FeedAlert",
    "FeedPoller",
    "FeedSettings",
    "FeedStatus",
    "feed_settings_from",
    "sources_health",
]
