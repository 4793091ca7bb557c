"""The fleet's database: SQLAlchemy models (`fleet.store.models`) and the engine and
sessions over them (`fleet.store.db`)."""
