"""The shared event sink: every part of the agent reports through it, none calls the core.

`emit` stamps nothing itself (events carry their `at`, taken from `now()`, the injected
clock in the board's time zone), logs one bounded line and hands the JSON to the outbox:
alert events as urgent (they overtake a backlog of results and heartbeats). Errors are
counted here (`errors_total` in the heartbeat). Problems found before the outbox exists
(damaged state files at set-up) are kept and said once it does (`open`). A failure of
the loop's own work (a bug) is counted too, and its traceback logged once (`TurnGuard`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from agent.clock import Clock
from agent.messages import DisplayError, EventBase, StorageError, log_excerpt

log = logging.getLogger(__name__)

MAX_FAILURES_LOGGED = 100  # kinds of loop failure whose traceback is logged (bounded)


class Sender(Protocol):
    """The outbox, as the sink sees it."""

    def submit(self, topic: str, payload: bytes, *, urgent: bool = False) -> object: ...


class Events:
    def __init__(self, clock: Clock, tz: ZoneInfo, topic: str) -> None:
        self.clock = clock
        self.tz = tz
        self.topic = topic  # the board's events topic
        self.outbox: Sender | None = None  # none without `[mqtt]`: events are only logged
        self.errors_total = 0
        self._held: list[str] | None = []  # storage problems said before `open`

    def open(self, outbox: Sender | None) -> None:
        """The outbox exists now: what was found on disk during set-up goes out."""
        self.outbox = outbox
        held, self._held = self._held or [], None
        for message in held:
            self.emit(StorageError(at=self.now(), message=message))

    def now(self) -> datetime:
        return self.clock.now().astimezone(self.tz)

    def send(self, topic: str, body: str, *, urgent: bool = False) -> None:
        """What the dashboard must get even across outages and restarts: via the outbox
        (which drops, counts and logs anything larger than the broker takes)."""
        if self.outbox is not None:
            self.outbox.submit(topic, body.encode(), urgent=urgent)

    def emit(self, event: EventBase) -> None:
        body = event.model_dump_json()
        log.info("event %s", log_excerpt(body))
        # Alert events overtake a backlog of command results and heartbeats.
        urgent = str(getattr(event, "kind", "")).startswith("alert.")
        self.send(self.topic, body, urgent=urgent)

    def emit_all(self, events: Iterable[EventBase]) -> None:
        for event in events:
            self.emit(event)

    def error(self) -> None:
        """One more error for the heartbeat's `errors_total` (its event is said apart)."""
        self.errors_total += 1

    def display_error(self, message: str) -> None:
        self.errors_total += 1
        self.emit(DisplayError(at=self.now(), message=message))

    def storage_error(self, message: str) -> None:
        """A problem with the state dir (said once per problem by `StorageHealth`)."""
        self.errors_total += 1
        log.error("%s", message)
        if self._held is not None:  # during set-up: nothing can be sent yet
            self._held.append(message)
            return
        self.emit(StorageError(at=self.now(), message=message))


class TurnGuard:
    """Runs one piece of a turn's work; a bug in it must not stop the board: counted,
    and logged with its traceback once per kind of failure (not 30 times a second)."""

    def __init__(self, events: Events) -> None:
        self.events = events
        self._logged: set[str] = set()  # kinds of failure whose traceback was logged

    def run(self, step: Callable[[], object]) -> bool:
        """Whether `step` ran without an exception."""
        try:
            step()
        except Exception as exc:
            self.events.errors_total += 1
            kind = f"{getattr(step, '__qualname__', step)}: {type(exc).__name__}: {exc}"[:300]
            if kind not in self._logged:
                if len(self._logged) < MAX_FAILURES_LOGGED:
                    self._logged.add(kind)
                log.exception("error in %s (logged once)", getattr(step, "__qualname__", step))
            return False
        return True
