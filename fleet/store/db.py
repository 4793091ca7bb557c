"""The engine and sessions over the fleet's database.

`sqlite:///PATH` (the default: a file, nothing to install) or `postgresql://…` (psycopg 3).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from fleet.store.migrate import upgrade

DEFAULT_DB_URL = "sqlite:///signage-fleet.db"


def engine_url(url: str) -> str:
    """SQLAlchemy's URL for a `--db` value: `postgresql://` means psycopg 3 here."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL: the web page reads while ingest writes; a busy timeout instead of "database is
    # locked"; foreign keys, which SQLite leaves off unless asked.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Store:
    """The database: an engine and a session factory over it."""

    def __init__(self, url: str = DEFAULT_DB_URL) -> None:
        self.url = engine_url(url)
        self.engine: Engine = create_engine(self.url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_schema(self) -> None:
        """Bring the schema up to date: Alembic's upgrade to the newest revision
        (`fleet/migrations/`), which creates every table on a new database. Raises
        SQLAlchemy's OperationalError when the database cannot be reached."""
        upgrade(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block ends normally and rolls back otherwise."""
        with self.sessions.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()
