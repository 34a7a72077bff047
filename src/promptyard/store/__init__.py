"""SQLAlchemy models and Alembic migrations, for SQLite and Postgres."""

from promptyard.store.db import Database, make_engine, upgrade

__all__ = ["Database", "make_engine", "upgrade"]
