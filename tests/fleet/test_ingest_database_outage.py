"""A database that goes away for a while (a real PostgreSQL, stopped and started): the
message at hand is held and stored when the database is back, not lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from fleet.store.db import Store
from fleet.store.models import Board
from tests.fleet.ingest_support import START, encode, heartbeat, make_ingest, topic
from tests.fleet.postgres import PostgresServer, initdb_binary
from tests.support import wait_until


@pytest.fixture
def own_postgres() -> Iterator[tuple[PostgresServer, Store]]:
    """A server of this test's own (the session's is shared): stopped and started here."""
    initdb = initdb_binary()
    if initdb is None:
        pytest.skip("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)")
    server = PostgresServer(initdb)
    server.start()
    store = Store(server.url(server.new_database()))
    try:
        store.create_schema()
        yield server, store
    finally:
        store.close()
        server.stop()


def test_a_message_waits_for_the_database_to_come_back(
    own_postgres: tuple[PostgresServer, Store], caplog: pytest.LogCaptureFixture
) -> None:
    server, store = own_postgres
    ingest, changes, _clock = make_ingest(store, retry_delays_s=(0.2, 0.5, 1, 2, 4, 8, 15))
    server.stop_server()
    worker = threading.Thread(
        target=ingest.handle, args=(topic("heartbeat"), encode(heartbeat(9, START)), False)
    )
    worker.start()
    wait_until(lambda: "the database is unavailable" in caplog.text, 20, "the warning")
    server.start_server()
    worker.join(60)
    assert not worker.is_alive()
    assert ingest.accepted == 1
    assert sum(ingest.rejected.values()) == 0
    with store.session() as session:
        assert session.scalars(select(Board.last_heartbeat_seq)).one() == 9
    assert changes.seen == [("board", "hn-badinh-phucxa-01")]


def test_stopping_ends_the_wait_and_counts_the_message(
    own_postgres: tuple[PostgresServer, Store], caplog: pytest.LogCaptureFixture
) -> None:
    server, store = own_postgres
    ingest, changes, _clock = make_ingest(store, retry_delays_s=(30,))
    server.stop_server()
    worker = threading.Thread(
        target=ingest.handle, args=(topic("heartbeat"), encode(heartbeat(9, START)), False)
    )
    worker.start()
    wait_until(lambda: "the database is unavailable" in caplog.text, 20, "the warning")
    ingest.close()
    worker.join(10)
    assert not worker.is_alive()
    assert ingest.rejected["heartbeat"] == 1
    assert changes.seen == []
    assert "could not be stored (OperationalError" in caplog.text
    server.start_server()
