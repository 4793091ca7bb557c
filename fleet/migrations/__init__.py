"""Alembic migrations of the fleet's database, run at start by `Store.create_schema()`
(`fleet.store.migrate`); no alembic.ini is needed."""
