"""The feed poller: one worker thread that polls every `[alerts] feeds` URL in turn.

Each poll is a conditional GET (a `304` costs a few hundred bytes); a feed's entries that
name a CAP document are fetched, a bounded number per poll, and every CAP document found
is handed on as a `FeedAlert` — the core puts it on the path MQTT alert payloads take, so
an incident seen on both paths is one incident. An entry whose id, date and link are
unchanged is not fetched again, and a document whose bytes were already handed on for
that entry is not handed on again.

One source's failure — down, slow, junk, too large — changes only that source's
`FeedStatus` and when it is polled next (jittered back-off); the other feeds go on. Feeds
are polled one after another, so a stuck server delays the others by at most one
download deadline. Nothing a server sends ends the thread: each poll is guarded, and a
bug in the loop itself restarts the loop (counted in `restarts`).
"""

from __future__ import annotations

import hashlib
import logging
import random
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from agent.alert_feeds.http import Answer, Validators, fetch
from agent.alert_feeds.reading import Entry, FeedContents, FeedError, is_cap_alert, read_feed
from agent.assets.download import DownloadError, FetchSettings, settings_from
from agent.clock import Clock, SystemClock
from agent.config import AgentConfig
from agent.feed_reports import FeedAlert
from signage_base.backoff import backoff_delay

log = logging.getLogger(__name__)

_MAX_ERROR = 300  # an error names the feed (up to 2 kB of URL): the sentence is cut here
_LOOP_RESTART_S = 5.0  # a loop that failed waits this long before it runs again


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """One source's health, for the heartbeat (`sources_health`) and the log."""

    url: str
    last_success_at: datetime | None = None  # the feed was read (200 or 304) and understood
    last_error: str | None = None  # the latest problem with the feed or one of its entries
    last_error_at: datetime | None = None
    entries: int = 0  # entries in the feed when it was last read


@dataclass(frozen=True, slots=True)
class FeedSettings:
    feeds: tuple[str, ...]
    interval_s: float = 60.0
    # Connect / first byte / whole deadlines, the size bound (per feed and per document),
    # allowed hosts and redirects: the downloader's rules.
    http: FetchSettings = field(default_factory=FetchSettings)
    max_entries: int = 100  # entries read from one feed (the first ones: newest first)
    max_documents_per_poll: int = 10  # linked CAP documents fetched in one poll of a feed
    backoff_max_s: float = 900.0
    # The first poll of each feed is spread over this many seconds after start: a fleet
    # that loses power together must not poll in lockstep when it comes back.
    first_poll_spread_s: float = 5.0
    tls: ssl.SSLContext | None = None  # None: the system's CA certificates


def feed_settings_from(config: AgentConfig) -> FeedSettings:
    """The `[alerts]` feeds with the `[content]` download limits; a poll is bounded by its
    interval too, and a feed or CAP document by the payload limit an MQTT alert has."""
    alerts, content = config.alerts, config.content
    http = settings_from(content)
    allowed = http.allowed_hosts
    if allowed:  # a host named in [alerts] feeds is allowed by being named there
        allowed = allowed | _feed_hosts(alerts.feeds)
    http = replace(
        http,
        max_bytes=content.max_payload_bytes,
        deadline_s=min(http.deadline_s, alerts.feed_interval_s),
        allowed_hosts=allowed,
    )
    return FeedSettings(tuple(alerts.feeds), alerts.feed_interval_s, http)


def _feed_hosts(feeds: Iterable[str]) -> frozenset[str]:
    return frozenset(host for url in feeds if (host := urllib.parse.urlsplit(url).hostname))


@dataclass
class _Source:
    url: str
    status: FeedStatus
    due: float = 0.0
    failures: int = 0  # failed polls in a row, for the back-off
    validators: Validators | None = None
    # entry key → SHA-256 of the document handed on for it (only entries still in the feed)
    delivered: dict[tuple[str, str, str], str] = field(default_factory=dict)
    failed_keys: set[tuple[str, str, str]] = field(default_factory=set)


@dataclass
class _Poll:
    """What one poll of one feed found, before it is folded into the source's state."""

    problems: list[str] = field(default_factory=list)
    complete: bool = True  # every entry was dealt with: the validators may be kept


class FeedPoller:
    """Polls the configured feeds on its own thread and hands CAP documents to `deliver`.

    `deliver` runs on the poller's thread (typically a queue's `put`); an exception it
    raises is that source's error, not the poller's end.
    """

    def __init__(
        self,
        settings: FeedSettings,
        deliver: Callable[[FeedAlert], None],
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        restart_delay_s: float = _LOOP_RESTART_S,
        on_restart: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.deliver = deliver
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.restarts = 0  # times the loop failed (a bug) and was started again
        self.restart_delay_s = restart_delay_s
        self.on_restart = on_restart  # told each restart, in a sentence (the poller's thread)
        self._sources = [_Source(url, FeedStatus(url)) for url in settings.feeds]
        self._changed = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # --- the owner's side ---------------------------------------------------------------

    def start(self) -> None:
        """Starts the thread (no-op without feeds); first polls spread over a few seconds."""
        if not self._sources or self._thread is not None:
            return
        now = self.clock.monotonic()
        spread = min(self.settings.first_poll_spread_s, self.settings.interval_s)
        with self._changed:
            for source in self._sources:
                source.due = now + self.rng.uniform(0, spread)
        self._thread = threading.Thread(target=self._run, name="alert-feeds", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stops polling. A download under way is not waited for beyond `timeout_s` (the
        thread is a daemon, and hands nothing on once stopping)."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def wake(self) -> None:
        """Makes the thread look at the clock again (after a test moved it)."""
        with self._changed:
            self._changed.notify_all()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def statuses(self) -> tuple[FeedStatus, ...]:
        with self._changed:
            return tuple(source.status for source in self._sources)

    # --- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                self._loop()
                return
            except Exception as exc:  # a bug in the loop: counted, logged, and it goes on
                self.restarts += 1
                log.exception("alert feed poller failed; restarted (%d)", self.restarts)
                self._report_restart(f"{type(exc).__name__}: {exc}"[:_MAX_ERROR])
            with self._changed:
                if self._changed.wait_for(lambda: self._stopping, self.restart_delay_s):
                    return

    def _report_restart(self, why: str) -> None:
        if self.on_restart is None:
            return
        try:
            self.on_restart(f"alert feed poller failed ({why}) and was restarted")
        except Exception:  # the report is the owner's; the thread goes on without it
            log.exception("alert feed poller: the restart could not be reported")

    def _loop(self) -> None:
        while True:
            with self._changed:
                while not self._stopping:
                    wait = min(s.due for s in self._sources) - self.clock.monotonic()
                    if wait <= 0:
                        break
                    self._changed.wait(wait)
                if self._stopping:
                    return
            self.poll_due()

    def poll_due(self) -> int:
        """Polls every source whose time has come; returns how many were polled. The
        thread's one step, and what tests call to poll without it."""
        now = self.clock.monotonic()
        polled = 0
        for source in self._sources:
            if source.due > now or self._stopping:
                continue
            polled += 1
            try:
                self._poll(source)
            except Exception as exc:  # a bug met on this feed: its error, not the thread's
                log.exception("alert feed %s: internal error", source.url)
                self._failed(source, [f"internal error: {type(exc).__name__}: {exc}"])
        return polled

    # --- one poll -----------------------------------------------------------------------

    def _poll(self, source: _Source) -> None:
        try:
            answer = fetch(source.url, self.settings.http, source.validators, tls=self.settings.tls)
            contents = None if answer.not_modified else self._read(answer)
        except (DownloadError, FeedError) as exc:
            self._failed(source, [str(exc)])
            return
        poll = _Poll()
        if contents is not None:
            self._deliver_entries(source, contents, poll)
            if contents.total > self.settings.max_entries:
                poll.problems.append(
                    f"{contents.total} entries; only the first {self.settings.max_entries} are read"
                )
        with self._changed:
            if not answer.not_modified:
                # A feed read only in part must be read again, not answered with a 304.
                source.validators = answer.validators if poll.complete else None
            source.failures = 0
            source.due = self.clock.monotonic() + self.settings.interval_s * self.rng.uniform(
                0.9, 1.1
            )
            entries = source.status.entries if contents is None else contents.total
            source.status = replace(
                source.status, last_success_at=self.clock.now(), entries=entries
            )
        if poll.problems:
            self._note(source, poll.problems)
        else:
            log.debug("alert feed %s read (%d entries)", source.url, source.status.entries)

    def _read(self, answer: Answer) -> FeedContents:
        return read_feed(answer.body, answer.url, self.settings.max_entries)

    def _deliver_entries(self, source: _Source, contents: FeedContents, poll: _Poll) -> None:
        current = {entry.key for entry in contents.entries}
        source.delivered = {k: v for k, v in source.delivered.items() if k in current}
        source.failed_keys &= current
        # An inline document is in hand (handed on if its bytes changed); a linked one is
        # fetched only for an entry not seen yet. Entries not tried yet come first: one
        # that always fails must not hold back the rest of the feed, poll after poll.
        waiting = [
            e for e in contents.entries if e.inline is not None or e.key not in source.delivered
        ]
        waiting.sort(key=lambda e: e.key in source.failed_keys)
        budget = self.settings.max_documents_per_poll
        for entry in waiting:
            if entry.inline is not None:
                self._hand_on(source, entry, entry.inline)
                continue
            if budget == 0:
                poll.complete = False  # the rest on the next poll
                break
            budget -= 1
            problem = self._fetch_linked(source, entry)
            if problem is not None:
                poll.problems.append(f"entry {entry.entry_id}: {problem}")
                poll.complete = False
                source.failed_keys.add(entry.key)

    def _fetch_linked(self, source: _Source, entry: Entry) -> str | None:
        assert entry.link is not None
        try:
            answer = fetch(entry.link, self.settings.http, tls=self.settings.tls)
        except DownloadError as exc:
            return f"{entry.link[:200]}: {exc}"
        problem = is_cap_alert(answer.body)
        if problem is not None:
            return f"{entry.link[:200]}: {problem}"
        self._hand_on(source, entry, answer.body)
        return None

    def _hand_on(self, source: _Source, entry: Entry, payload: bytes) -> None:
        digest = hashlib.sha256(payload).hexdigest()
        source.failed_keys.discard(entry.key)
        if source.delivered.get(entry.key) == digest or self._stopping:
            return
        self.deliver(FeedAlert(source.url, payload, entry.entry_id))
        source.delivered[entry.key] = digest

    # --- status -------------------------------------------------------------------------

    def _failed(self, source: _Source, problems: list[str]) -> None:
        with self._changed:
            source.failures += 1
            delay = backoff_delay(
                source.failures,
                self.settings.interval_s,
                max(self.settings.interval_s, self.settings.backoff_max_s),
                self.rng,
            )
            source.due = self.clock.monotonic() + delay
        self._note(source, problems)

    def _note(self, source: _Source, problems: list[str]) -> None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        message = f"feed {source.url}: {problems[0]}"
        message = message[: _MAX_ERROR - len(more)] + more
        with self._changed:
            source.status = replace(
                source.status, last_error=message, last_error_at=self.clock.now()
            )
        log.warning("%s", message)
