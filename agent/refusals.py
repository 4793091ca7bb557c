"""Bad input, reported: one `content.rejected` per bad payload, bounded against floods
(agent/rejections.py) and not repeated for the broker's replays of a retained payload."""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict

from agent.events import Events
from agent.link_messages import Received
from agent.messages import Channel, ContentRejected, InputSuppressed
from agent.rejections import RejectionLimiter, Suppressed
from agent.topics import AlertTopic, Topics
from display_layouts.input_problems import Problem

log = logging.getLogger(__name__)

REJECTED_RETAINED_KEEP = 1024  # fingerprints of rejected payloads (32 bytes each)
LOGGED_ERRORS = 5  # a rejection's log line names the first few problems, not thousands


class Refusals:
    def __init__(self, events: Events, topics: Topics) -> None:
        self.events = events
        self.topics = topics
        self.limiter = RejectionLimiter()
        # Fingerprints of rejected inbound messages: the same retained payload, replayed by
        # the broker at every reconnect, is not reported again.
        self._rejected: OrderedDict[bytes, None] = OrderedDict()
        self.inbound: Received | None = None  # the MQTT message being handled

    def reject(self, topic: str, channel: Channel | None, errors: list[Problem]) -> bool:
        """Report bad input with one `content.rejected`; returns whether it was reported.

        Not reported: the same payload the broker replays as retained at every reconnect
        (reported the first time), and a flood beyond the rate limit (counted, and
        reported as `input.suppressed`, see agent/rejections.py).
        """
        if self._already_rejected():
            log.debug("%s: the same bad payload again (a replay): not reported again", topic)
            return False
        events = self.events
        events.error()
        now = events.now()
        if not self.limiter.admit(self.source(topic), events.clock.monotonic(), now):
            return False
        event = ContentRejected(at=now, topic=topic, channel=channel, errors=errors)
        # The event's own bounded summary: a payload must not come back whole in the log.
        shown = "; ".join(f"{e.path}: {e.message}" for e in event.errors[:LOGGED_ERRORS])
        more = f" (and {len(errors) - LOGGED_ERRORS} more)" if len(errors) > LOGGED_ERRORS else ""
        log.warning("rejected %s: %s%s", event.topic, shown, more)
        events.emit(event)
        return True

    def _already_rejected(self) -> bool:
        """The MQTT message being handled was rejected before and comes again as a replay:
        retained (at every reconnect) or a redelivery (DUP: our acknowledgement did not
        arrive); remembers it otherwise (bounded: the oldest fingerprints are forgotten)."""
        message = self.inbound
        if message is None:
            return False
        key = hashlib.sha256(message.topic.encode() + b"\0" + message.payload).digest()
        if key in self._rejected:
            self._rejected.move_to_end(key)
            if message.retained or message.duplicate:
                return True
        self._rejected[key] = None
        while len(self._rejected) > REJECTED_RETAINED_KEEP:
            self._rejected.popitem(last=False)
        return False

    def source(self, topic: str) -> str:
        """Floods are limited per source: a topic; for alerts the subscription that matched
        (a flood over many alert ids is one flood); for files, the inbox."""
        if topic.startswith("inbox:"):
            return "inbox"
        if isinstance(self.topics.route(topic), AlertTopic):
            return topic.rsplit("/", 1)[0] + "/+"
        return topic

    def report_due(self) -> None:
        """The summaries of floods that have ended (each turn; cheap when there are none)."""
        self._report(self.limiter.due(self.events.clock.monotonic()))

    def report_pending(self) -> None:
        """Every summary still open (at shutdown)."""
        self._report(self.limiter.pending())

    def _report(self, reports: list[Suppressed]) -> None:
        events = self.events
        for report in reports:
            log.warning(
                "%d more bad messages on %s between %s and %s (not reported one by one)",
                report.count,
                report.source,
                report.first_at.isoformat(),
                report.last_at.isoformat(),
            )
            events.emit(
                InputSuppressed(
                    at=events.now(),
                    topic=report.source,
                    count=report.count,
                    first_at=report.first_at.astimezone(events.tz),
                    last_at=report.last_at.astimezone(events.tz),
                )
            )
