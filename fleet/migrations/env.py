"""Alembic's environment for the fleet's database.

Run only through `fleet.store.migrate`, which hands over an open connection in
`config.attributes["connection"]`: the store's own engine (its SQLite pragmas, its URL
with psycopg 3) is the one migrated, and no alembic.ini or logging file is read.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

from fleet.store.models import Base, UtcDateTime


def _render_item(kind: str, item: Any, _context: Any) -> str | Literal[False]:
    # A revision is frozen: it names SQLAlchemy's own type, not the models' decorator
    # (which stores the same column, TIMESTAMP WITH TIME ZONE).
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the fleet's migrations through fleet.store.migrate")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things: later revisions rebuild tables in batch mode.
    render_as_batch=True,
    compare_type=True,
    render_item=_render_item,
)
with context.begin_transaction():
    context.run_migrations()
