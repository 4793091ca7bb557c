"""The alert feeds (`[alerts] feeds`): each fetched once, as the poller would.

A feed is fetched without validators (a full answer), read as Atom, RSS or one CAP
document, and the first CAP document it links to is fetched too: that proves the hosts
and certificates of both, which is where a feed usually fails in the field.
"""

from __future__ import annotations

import ssl

from agent.alert_feeds.http import fetch
from agent.alert_feeds.poller import FeedSettings, feed_settings_from
from agent.alert_feeds.reading import FeedContents, FeedError, is_cap_alert, read_feed
from agent.assets.download import DownloadError
from agent.config import AgentConfig
from agent.doctor.check import Check, ms, timed

_KINDS = {"atom": "an Atom feed", "rss": "an RSS feed", "cap": "a CAP 1.2 document"}


def check_feeds(config: AgentConfig, *, tls: ssl.SSLContext | None = None) -> list[Check]:
    """One line per feed; nothing for a board without feeds."""
    settings = feed_settings_from(config)
    return [_check_feed(url, settings, tls) for url in settings.feeds]


def _check_feed(url: str, settings: FeedSettings, tls: ssl.SSLContext | None) -> Check:
    def read() -> FeedContents:
        answer = fetch(url, settings.http, tls=tls)
        return read_feed(answer.body, answer.url, settings.max_entries)

    try:
        contents, took = timed(read)
    except DownloadError as exc:
        return Check.failed(f"alert feed {url}: {exc}", _network_fix(str(exc)))
    except FeedError as exc:
        return Check.failed(
            f"alert feed {url}: {exc}",
            "the address must give an Atom or RSS feed of CAP 1.2 alerts, or one CAP 1.2 "
            "document; open it in a browser to see what the server sends",
        )
    what = f"alert feed {url}: {_KINDS[contents.kind]}"
    if contents.kind != "cap":
        entries = f"{contents.total} entr{'y' if contents.total == 1 else 'ies'}"
        what += f", {entries}, {len(contents.entries)} naming a CAP document"
    what += f", read in {ms(took)}"
    linked = next((entry.link for entry in contents.entries if entry.link), None)
    if linked is None:
        return Check.passed(what)
    try:
        problem = is_cap_alert(fetch(linked, settings.http, tls=tls).body)
    except DownloadError as exc:
        problem = str(exc)
    if problem is not None:
        return Check.failed(
            f"{what}; but its first CAP link {linked}: {problem}", _network_fix(problem)
        )
    return Check.passed(f"{what}; its first CAP link is a CAP 1.2 document")


def _network_fix(problem: str) -> str:
    if "certificate" in problem or "TLS" in problem:
        return (
            "the board must trust the server's certificate: check the board's clock and "
            "its CA certificates (ca-certificates), or ask the feed's operator"
        )
    if "allowed_hosts" in problem or "redirect" in problem:
        return (
            "add the host to [content] allowed_hosts, or use the address the feed "
            "redirects to in [alerts] feeds"
        )
    if "unreachable" in problem or "connect" in problem:
        return "check the address, and that the board reaches it (DNS, firewall, proxy)"
    if problem.startswith("HTTP"):
        return "the server refused the request: check the address with the feed's operator"
    return "check the address with the feed's operator, then run doctor again"
