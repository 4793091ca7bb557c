"""`[alerts]` (CONTRACT §6): the alert feeds, CAP defaults, and what alerts do to the display."""

from __future__ import annotations

import urllib.parse
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from agent.config_base import Section
from display_layouts.input_problems import named_pattern

# An alert feed's address (CONTRACT §6): https only, an alert must not be forged on the way.
_HTTPS_URL_PATTERN = named_pattern(r"^https://[^\s/?#]+\S*$", "an https:// URL, no spaces")
MAX_FEEDS = 8  # each one is polled in turn by one thread: a handful, not a directory


def _feed_address(url: str) -> str:
    try:
        parts = urllib.parse.urlsplit(url)
        host, _port = parts.hostname, parts.port  # a port that is not 1–65535 raises
    except ValueError:
        raise ValueError("a broken host or port (a port is a number from 1 to 65535)") from None
    if not host:
        raise ValueError("no host")
    return url


FeedUrl = Annotated[
    str,
    Field(pattern=_HTTPS_URL_PATTERN, max_length=2048),
    AfterValidator(_feed_address),
]


class AlertsConfig(Section):
    """Addition (CONTRACT §6): where alerts come from besides the MQTT alert topics."""

    # CAP Atom/RSS feeds, or single CAP documents, polled over https.
    feeds: Annotated[list[FeedUrl], Field(max_length=MAX_FEEDS)] = Field(default_factory=list)
    # Seconds between two polls of a feed (jittered by ±10 %; longer after failures).
    feed_interval_s: Annotated[float, Field(ge=15, le=86_400)] = 60.0
    # How long a CAP alert without `<expires>` stays on, from its `sent`.
    default_expiry_s: Annotated[int, Field(ge=60, le=7 * 86_400)] = 3600
    # An extreme or severe alert switches a display that is off on and lifts it to 100 %
    # while it lasts (agent/display_control.py); false leaves power and brightness to the
    # schedule and the commands, alerts or not.
    wake_display: bool = True

    @field_validator("feeds")
    @classmethod
    def _distinct_feeds(cls, feeds: list[str]) -> list[str]:
        if len(set(feeds)) != len(feeds):
            raise ValueError("a feed is listed twice")
        return feeds
