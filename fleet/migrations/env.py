"""Alembic's environment for the fleet's database.

Run only through `fleet.store.migrate`, which hands over an open connection in
`config.attributes["connection"]`: the store's own engine (its SQLite pragmas, its URL
with psycopg 3) is the one migrated, and no alembic.ini or logging file is read.
"""

from __future__ import annotations

from alembic import context

from fleet.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the fleet's migrations through fleet.store.migrate")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things: later revisions rebuild tables in batch mode.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
