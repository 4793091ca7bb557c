"""Ingest: what boards publish, and the city's alerts, into the fleet's database.

`Ingest.handle(topic, payload, retained)` is called for every message on
`{root}/board/+/status|heartbeat|events|cmd/result|screenshot` and `{root}/alert/#`
(fleet.serve subscribes them). Each message is checked first (fleet.ingest_checks),
then written in one transaction, then announced (`Changes.notify`) once committed, so
that a page which reloads on the news reads what was written.

A message ingest cannot use changes nothing: one bounded WARNING naming the topic and
the problem (a flood of them is summarised), and a count in `rejected`. Nothing a board
sends can stop ingest: an unexpected error is handled the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from fleet import alert_ingest
from fleet.ingest_checks import (
    MAX_JSON_BYTES,
    MAX_SCREENSHOT_BYTES,
    AlertMessage,
    BadPayload,
    BoardMessage,
    expect_type,
    integer,
    json_object,
    parse_topic,
    png_size,
    required_text,
    required_timestamp,
    shown,
    text,
    timestamp,
)
from fleet.ingest_place import apply_place
from fleet.live import ChangeKind, Changes
from fleet.store.db import Store
from fleet.store.models import Board, BoardEvent, Command, HeartbeatSample, Screenshot

log = logging.getLogger(__name__)

HISTORY_EVERY_S = 300.0
MAX_SEQ = 2**31 - 1  # the column is a 32-bit integer on PostgreSQL
ALERT_EVENTS = ("alert.started", "alert.ended")
WARNINGS_PER_MINUTE = 20
LOGGED_TOPIC = 200
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # about a minute in all

Change = tuple[ChangeKind, str]


@dataclass(slots=True)
class _Written:
    """What one message changed, and the alert event whose receipt is recorded next."""

    changes: list[Change]
    alert_event: dict[str, Any] | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)


def _cause(error: Exception) -> str:
    """An error in one short line: for the database, the driver's first line (not
    SQLAlchemy's text, which quotes the statement and its parameters)."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        lines = str(error.orig).strip().splitlines()
        return f"{type(error.orig).__name__}: {lines[0] if lines else ''}"[:300]
    return f"{type(error).__name__}: {error}"[:300]


class _WarningBudget:
    """At most WARNINGS_PER_MINUTE warnings a minute: a board that floods bad payloads
    must not flood the log; what was held back is counted in one line."""

    def __init__(self) -> None:
        self._window_start = -1e9
        self._logged = 0
        self._held = 0

    def allow(self) -> bool:
        now = time.monotonic()
        if now - self._window_start >= 60:
            if self._held:
                log.warning("%d more bad messages in the last minute, not logged", self._held)
            self._window_start, self._logged, self._held = now, 0, 0
        if self._logged < WARNINGS_PER_MINUTE:
            self._logged += 1
            return True
        self._held += 1
        return False


class Ingest:
    """Stores what arrives; `accepted` and `rejected` (per kind of message) count it."""

    def __init__(
        self,
        store: Store,
        changes: Changes,
        root: str = "signage/v1",
        *,
        clock: Callable[[], datetime] = utc_now,
        history_every_s: float = HISTORY_EVERY_S,
        max_payload: int = MAX_JSON_BYTES,
        max_screenshot: int = MAX_SCREENSHOT_BYTES,
        retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
    ) -> None:
        self.store, self.changes, self.root, self.clock = store, changes, root, clock
        self.history_every = timedelta(seconds=history_every_s)
        self.max_payload, self.max_screenshot = max_payload, max_screenshot
        self.accepted = 0
        self.rejected: Counter[str] = Counter()
        self.retry_delays_s = retry_delays_s
        self._budget = _WarningBudget()
        self._closing = threading.Event()

    def handle(self, topic: str, payload: bytes, retained: bool) -> None:
        what = "topic"
        try:
            target = parse_topic(topic, self.root)
            what = "alert" if isinstance(target, AlertMessage) else target.leaf
            now = self.clock()
            written = self._write_retrying(target, topic, payload, now)
        except BadPayload as bad:
            self._reject(what, topic, str(bad))
            return
        except Exception as error:  # a bug or the database: never the end of ingest
            self._reject(what, topic, f"could not be stored ({_cause(error)})")
            log.debug("storing %r failed", topic[:LOGGED_TOPIC], exc_info=True)
            return
        self.accepted += 1
        changed = written.changes
        if written.alert_event is not None and isinstance(target, BoardMessage):
            changed += self._alert_receipt(target.board_id, written.alert_event, topic, now)
        for kind, key in dict.fromkeys(changed):
            self.changes.notify(kind, key)

    def close(self) -> None:
        """Stop waiting for a database that is away (serve is stopping)."""
        self._closing.set()

    def _write(
        self, target: BoardMessage | AlertMessage, topic: str, payload: bytes, now: datetime
    ) -> _Written:
        with self.store.session() as session:
            if isinstance(target, AlertMessage):
                return _Written(self._alert(session, topic, payload, now))
            return self._board_message(session, target, payload, now)

    def _write_retrying(
        self, target: BoardMessage | AlertMessage, topic: str, payload: bytes, now: datetime
    ) -> _Written:
        """A database that went away (PostgreSQL restarting, SQLite locked past its busy
        timeout) is waited for, a minute at most: meanwhile the message is not
        acknowledged and what follows waits at the broker, instead of being lost."""
        for delay in (*self.retry_delays_s, None):
            try:
                return self._write(target, topic, payload, now)
            except OperationalError as error:
                if delay is None or self._closing.is_set():
                    raise
                if self._budget.allow():
                    log.warning(
                        "the database is unavailable (%s); again in %g s", _cause(error), delay
                    )
                if self._closing.wait(delay):
                    raise
        raise AssertionError("unreachable")

    def _reject(self, what: str, topic: str, problem: str) -> None:
        self.rejected[what] += 1
        if self._budget.allow():
            log.warning("ignored a message on %s: %s", shown(topic[:LOGGED_TOPIC]), problem[:400])

    # --- the board's messages -------------------------------------------------------

    def _board_message(
        self, session: Session, target: BoardMessage, payload: bytes, now: datetime
    ) -> _Written:
        board_id = target.board_id
        board_changed: list[Change] = [("board", board_id)]
        if target.leaf == "screenshot":
            self._screenshot(session, board_id, payload, now)
            return _Written(board_changed)
        if target.leaf == "status":
            if not payload:  # a retained status cleared by hand: nothing to record
                return _Written([])
            self._status(session, board_id, json_object(payload, self.max_payload), now)
            return _Written(board_changed)
        body = json_object(payload, self.max_payload)
        if target.leaf == "heartbeat":
            self._heartbeat(session, board_id, body, now)
            return _Written(board_changed)
        if target.leaf == "events":
            stored = self._event(session, board_id, body, now)
            alert_event = body if stored and body["kind"] in ALERT_EVENTS else None
            return _Written(board_changed, alert_event)
        command_id = self._command_result(session, board_id, body, now)
        return _Written([("command", command_id), *board_changed])

    def _board(self, session: Session, board_id: str, now: datetime) -> Board:
        board = session.get(Board, board_id)
        if board is None:
            # First heard of through any message; presence comes from its status.
            board = Board(
                board_id=board_id, first_seen_at=now, state="unknown", groups=[], area_codes=[]
            )
            session.add(board)
            session.flush()  # the row the event, sample or screenshot refers to
        return board

    def _status(self, session: Session, board_id: str, body: dict[str, Any], now: datetime) -> None:
        state = body.get("state")
        if state not in ("online", "offline"):
            raise BadPayload(f"state is {shown(state)}, expected 'online' or 'offline'")
        since = timestamp(body, "since", required=False)
        reason = text(body, "reason", 32) if state == "offline" else None
        version = text(body, "agent_version", 64)
        board = self._board(session, board_id, now)
        if since is None:
            # The Last Will has no `since`. The same retained offline again (the fleet
            # restarted) keeps the time it was first heard; a change begins now.
            same = board.state == state and board.offline_reason == reason
            since = board.since if same and board.since is not None else now
        board.state, board.since, board.offline_reason = state, since, reason
        if version is not None:
            board.agent_version = version

    def _heartbeat(
        self, session: Session, board_id: str, body: dict[str, Any], now: datetime
    ) -> None:
        expect_type(body, "heartbeat")
        if body.get("board_id") != board_id:
            raise BadPayload(f"board_id {shown(body.get('board_id'))} is not the topic's board")
        seq = integer(body, "seq", 0, MAX_SEQ)
        sent_at = required_timestamp(body, "sent_at")
        board = self._board(session, board_id, now)
        # Heartbeats held in a board's outbox arrive late, oldest first: only a newer one
        # (a later time, or a higher seq when the board's clock stepped back) is "latest".
        last_at, last_seq = board.last_heartbeat_at, board.last_heartbeat_seq
        if last_at is None or last_seq is None or sent_at > last_at or seq > last_seq:
            board.heartbeat = body
            board.last_heartbeat_at, board.last_heartbeat_seq = sent_at, seq
            version = body.get("agent_version")
            if isinstance(version, str) and 0 < len(version) <= 64:
                board.agent_version = version
            self._place(board, body.get("assignment"))
        self._sample(session, board_id, body, sent_at=sent_at, seq=seq, now=now)

    def _sample(
        self,
        session: Session,
        board_id: str,
        body: dict[str, Any],
        *,
        sent_at: datetime,
        seq: int,
        now: datetime,
    ) -> None:
        """History at most one heartbeat per `history_every_s`, by the board's own times,
        so a late outbox fills the hours the board was cut off, and a duplicate (QoS 1
        delivers at least once) is never a second row."""
        near = select(HeartbeatSample.id).where(
            HeartbeatSample.board_id == board_id,
            HeartbeatSample.sent_at > sent_at - self.history_every,
            HeartbeatSample.sent_at < sent_at + self.history_every,
        )
        if self.history_every.total_seconds() <= 0:
            near = near.where(HeartbeatSample.seq == seq)
        if session.scalars(near.limit(1)).first() is None:
            session.add(
                HeartbeatSample(
                    board_id=board_id, sent_at=sent_at, received_at=now, seq=seq, body=body
                )
            )

    def _place(self, board: Board, assignment: object) -> None:
        problems = apply_place(board, assignment)
        if problems:
            self.rejected["heartbeat.assignment"] += 1
            if self._budget.allow():
                log.warning(
                    "board %s: kept its place, the heartbeat's assignment is bad: %s",
                    board.board_id,
                    "; ".join(problems)[:400],
                )

    def _event(self, session: Session, board_id: str, body: dict[str, Any], now: datetime) -> bool:
        """Stores the event; False when it is one already stored."""
        expect_type(body, "event")
        kind = required_text(body, "kind", 64)
        at = required_timestamp(body, "at")
        self._board(session, board_id, now)
        # QoS 1 delivers at least once: the same event again is not a second event.
        same = select(BoardEvent.body).where(
            BoardEvent.board_id == board_id, BoardEvent.at == at, BoardEvent.kind == kind
        )
        if any(seen == body for seen in session.scalars(same)):
            return False
        session.add(BoardEvent(board_id=board_id, kind=kind, at=at, received_at=now, body=body))
        return True

    def _alert_receipt(
        self, board_id: str, body: dict[str, Any], topic: str, now: datetime
    ) -> list[Change]:
        """After the event row is committed: its alert receipt, in a transaction of its
        own, so that a receipt that cannot be recorded never loses the event."""
        try:
            with self.store.session() as session:
                alert_id = alert_ingest.record_alert_event(session, board_id, body, now)
        except Exception as error:  # the reach module's problem: the event is kept
            self._reject("alert.receipt", topic, f"receipt not recorded ({type(error).__name__})")
            log.debug("alert receipt from %s failed", board_id, exc_info=True)
            return []
        return [("alert", alert_id)] if alert_id is not None else []

    def _command_result(
        self, session: Session, board_id: str, body: dict[str, Any], now: datetime
    ) -> str:
        expect_type(body, "command_result")
        command_id = required_text(body, "id", 200)
        ok = body.get("ok")
        if not isinstance(ok, bool):
            raise BadPayload(f"ok is not true or false: {shown(ok)}")
        command = session.get(Command, command_id)
        if command is None:
            # Sent by another tool (`signage-fleet publish`, a dashboard): kept all the same.
            command = Command(
                id=command_id, board_id=board_id, command="unknown", args={}, sent_at=now
            )
            session.add(command)
        elif command.board_id != board_id:
            raise BadPayload(f"command {shown(command_id)} was sent to another board")
        command.result, command.ok, command.result_at = body, ok, now
        return command_id

    def _screenshot(self, session: Session, board_id: str, payload: bytes, now: datetime) -> None:
        width, height = png_size(payload, self.max_screenshot)
        self._board(session, board_id, now)
        shot = session.get(Screenshot, board_id)
        if shot is None:
            shot = Screenshot(board_id=board_id)
            session.add(shot)
        shot.received_at, shot.png, shot.width, shot.height = now, payload, width, height

    # --- the city's alerts ----------------------------------------------------------

    def _alert(self, session: Session, topic: str, payload: bytes, now: datetime) -> list[Change]:
        if len(payload) > self.max_payload:
            raise BadPayload(f"payload of {len(payload)} bytes is over the limit")
        alert_id = alert_ingest.record_publication(session, topic, payload, self.root, now)
        return [("alert", alert_id)] if alert_id is not None else []
