"""The fleet's tables (SQLAlchemy 2 declarative models).

One owner per fact: ingest (`fleet.ingest`) writes these rows from what boards publish;
the web API reads them. Payload bodies are kept as JSON beside the columns the page
filters and sorts by, so fields that later boards add are stored although no column
names them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

BOARD_ID = 64  # CONTRACT §1: a board id is a slug of at most 64 characters
ALERT_ID = 200


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend. SQLite keeps no offset, so a naive
    value read back is UTC by construction; naive values are refused on the way in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime cannot be stored: give it an offset")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Board(Base):
    """A board as last heard of: presence from its retained status, the latest heartbeat
    whole, and where it belongs (the heartbeat's `assignment`, used for alert scope)."""

    __tablename__ = "boards"

    board_id: Mapped[str] = mapped_column(String(BOARD_ID), primary_key=True)
    first_seen_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))  # online | offline | unknown
    since: Mapped[datetime | None]  # when `state` began (the status's `since`, or receipt)
    offline_reason: Mapped[str | None] = mapped_column(String(32))
    agent_version: Mapped[str | None] = mapped_column(String(64))
    last_heartbeat_at: Mapped[datetime | None]  # the heartbeat's `sent_at`
    last_heartbeat_seq: Mapped[int | None]
    heartbeat: Mapped[dict[str, Any] | None]  # the latest heartbeat, as received
    # Where the board belongs (CONTRACT §2, §8): for the reach of district, commune, group
    # and area-targeted alerts.
    district: Mapped[str | None] = mapped_column(String(64))
    commune: Mapped[str | None] = mapped_column(String(64))
    groups: Mapped[list[Any]] = mapped_column(default=list)
    area_codes: Mapped[list[Any]] = mapped_column(default=list)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class HeartbeatSample(Base):
    """Heartbeat history, downsampled: at most one row per board per sampling interval."""

    __tablename__ = "heartbeat_samples"
    __table_args__ = (Index("ix_heartbeat_samples_board_sent", "board_id", "sent_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    board_id: Mapped[str] = mapped_column(ForeignKey("boards.board_id", ondelete="CASCADE"))
    sent_at: Mapped[datetime]
    received_at: Mapped[datetime]
    seq: Mapped[int]
    body: Mapped[dict[str, Any]]


class BoardEvent(Base):
    """Every event a board published (proof of play is kind `playback.started`)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_board_at", "board_id", "at"),
        Index("ix_events_kind_at", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    board_id: Mapped[str] = mapped_column(ForeignKey("boards.board_id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    received_at: Mapped[datetime]
    body: Mapped[dict[str, Any]]


class Alert(Base):
    """An alert as published by the city (seen on `{root}/alert/…`) or first heard of in
    a board's `alert.started`: where it was sent, and so which boards are in scope."""

    __tablename__ = "alerts"

    alert_id: Mapped[str] = mapped_column(String(ALERT_ID), primary_key=True)
    first_seen_at: Mapped[datetime]
    # The topic's scope: city | district | commune | board | group; its value(s) in
    # `scope_value` (`d`, `d/c`, a board id, a group slug); null when only boards told us.
    scope: Mapped[str | None] = mapped_column(String(16))
    scope_value: Mapped[str | None] = mapped_column(String(200))
    topic: Mapped[str | None] = mapped_column(String(400))
    sent: Mapped[datetime | None]  # the alert's own `sent`
    published_at: Mapped[datetime | None]  # when the fleet saw it on the broker
    severity: Mapped[str | None] = mapped_column(String(16))
    headline: Mapped[str | None] = mapped_column(String(400))
    status: Mapped[str | None] = mapped_column(String(16))
    ended_at: Mapped[datetime | None]  # cancelled or cleared on the broker
    # CAP <area> targeting as `agent.cap` reads it: [{"geocodes": [...], "polygons": [...],
    # "circles": [...]}], or null for a JSON alert / a CAP alert without areas.
    areas: Mapped[list[Any] | None]


class AlertReceipt(Base):
    """One board's receipt of one alert: its `alert.started` (and `alert.ended`)."""

    __tablename__ = "alert_receipts"

    alert_id: Mapped[str] = mapped_column(String(ALERT_ID), primary_key=True)
    board_id: Mapped[str] = mapped_column(
        ForeignKey("boards.board_id", ondelete="CASCADE"), primary_key=True
    )
    started_at: Mapped[datetime]  # the event's `received_at`, else its `at`
    latency_ms: Mapped[int | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))


class Screenshot(Base):
    """The latest screenshot per board (PNG bytes as published)."""

    __tablename__ = "screenshots"

    board_id: Mapped[str] = mapped_column(
        ForeignKey("boards.board_id", ondelete="CASCADE"), primary_key=True
    )
    received_at: Mapped[datetime]
    png: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int | None]
    height: Mapped[int | None]


class Command(Base):
    """A command the fleet sent to a board, and its result when it came."""

    __tablename__ = "commands"
    __table_args__ = (Index("ix_commands_board_sent", "board_id", "sent_at"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    board_id: Mapped[str] = mapped_column(String(BOARD_ID))
    command: Mapped[str] = mapped_column(String(64))
    args: Mapped[dict[str, Any]]
    sent_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime]
    result_at: Mapped[datetime | None]
    ok: Mapped[bool | None]
    result: Mapped[dict[str, Any] | None]


class User(Base):
    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    can_publish: Mapped[bool]
    created_at: Mapped[datetime]


class LoginSession(Base):
    """A logged-in browser: the SHA-256 of a random cookie token (the token itself is
    never stored), its user and when it expires."""

    __tablename__ = "login_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("users.name", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
