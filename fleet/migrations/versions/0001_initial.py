"""The first schema (issue 15): every table of fleet/store/models.py.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(length=200), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=True),
        sa.Column("scope_value", sa.String(length=200), nullable=True),
        sa.Column("topic", sa.String(length=400), nullable=True),
        sa.Column("sent", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("headline", sa.String(length=400), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("areas", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("alert_id"),
    )
    op.create_table(
        "boards",
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offline_reason", sa.String(length=32), nullable=True),
        sa.Column("agent_version", sa.String(length=64), nullable=True),
        sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_heartbeat_seq", sa.Integer(), nullable=True),
        sa.Column("heartbeat", sa.JSON(), nullable=True),
        sa.Column("district", sa.String(length=64), nullable=True),
        sa.Column("commune", sa.String(length=64), nullable=True),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("area_codes", sa.JSON(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("board_id"),
    )
    op.create_table(
        "commands",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("command", sa.String(length=64), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("sent_by", sa.String(length=64), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_commands_board_sent", "commands", ["board_id", "sent_at"], unique=False)
    op.create_table(
        "users",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("can_publish", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "alert_receipts",
        sa.Column("alert_id", sa.String(length=200), nullable=False),
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["board_id"], ["boards.board_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("alert_id", "board_id"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["board_id"], ["boards.board_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_events_board_at", "events", ["board_id", "at"], unique=False)
    op.create_index("ix_events_kind_at", "events", ["kind", "at"], unique=False)
    op.create_table(
        "heartbeat_samples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["board_id"], ["boards.board_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_heartbeat_samples_board_sent",
        "heartbeat_samples",
        ["board_id", "sent_at"],
        unique=False,
    )
    op.create_table(
        "login_sessions",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    op.create_table(
        "screenshots",
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["board_id"], ["boards.board_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("board_id"),
    )


def downgrade() -> None:
    op.drop_table("screenshots")
    op.drop_table("login_sessions")
    op.drop_index("ix_heartbeat_samples_board_sent", table_name="heartbeat_samples")
    op.drop_table("heartbeat_samples")
    op.drop_index("ix_events_kind_at", table_name="events")
    op.drop_index("ix_events_board_at", table_name="events")
    op.drop_table("events")
    op.drop_table("alert_receipts")
    op.drop_table("users")
    op.drop_index("ix_commands_board_sent", table_name="commands")
    op.drop_table("commands")
    op.drop_table("boards")
    op.drop_table("alerts")
