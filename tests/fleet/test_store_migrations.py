"""The migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.exc import StatementError

from fleet.store.db import Store
from fleet.store.migrate import alembic_config, current_revision, pending_changes, upgrade
from fleet.store.models import Base, Board


def test_a_new_database_is_migrated_to_the_models_schema(db_url: str) -> None:
    store = Store(db_url)
    try:
        assert current_revision(store.engine) is None
        store.create_schema()
        assert current_revision(store.engine) == "0001"
        tables = set(inspect(store.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert pending_changes(store.engine) == []
    finally:
        store.close()


def test_migrating_again_changes_nothing_and_keeps_the_rows(store: Store) -> None:
    now = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    with store.session() as session:
        session.add(Board(board_id="b-1", first_seen_at=now, state="online"))
    store.create_schema()
    with store.session() as session:
        board = session.get(Board, "b-1")
        assert board is not None
        assert board.first_seen_at == now
    assert pending_changes(store.engine) == []


def test_the_downgrade_removes_every_table_and_the_upgrade_restores_them(store: Store) -> None:
    upgrade(store.engine, "0001")
    with store.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
    store.create_schema()
    assert pending_changes(store.engine) == []


def test_times_come_back_aware_in_utc(store: Store) -> None:
    hanoi = timezone(timedelta(hours=7))
    with store.session() as session:
        session.add(
            Board(
                board_id="b-2",
                first_seen_at=datetime(2026, 12, 2, 20, 0, tzinfo=hanoi),
                state="unknown",
            )
        )
    with store.session() as session:
        board = session.get(Board, "b-2")
        assert board is not None
        assert board.first_seen_at == datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
        assert board.first_seen_at.utcoffset() == timedelta(0)
        assert board.groups == []


def test_a_naive_time_is_refused(store: Store) -> None:
    naive = datetime(2026, 12, 2)  # noqa: DTZ001 (the point of the test)
    with store.session() as session:
        session.add(Board(board_id="b-3", first_seen_at=naive, state="unknown"))
        with pytest.raises(StatementError, match="naive"):
            session.flush()
        session.rollback()
