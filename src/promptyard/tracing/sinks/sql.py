"""Summary rows in SQL (SQLite or Postgres), plus the daily rollups, in one transaction.

Writing is idempotent per trace id: ids already stored are skipped, so a retried batch
neither duplicates rows nor double-counts the rollups. Rollups are upserts
(``INSERT .. ON CONFLICT DO UPDATE SET n = n + excluded.n``), which is safe with several
gateway instances writing to one Postgres.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from promptyard.errors import ConfigError
from promptyard.settings import Settings
from promptyard.store.db import Database
from promptyard.store.tables.tracing import TraceDailyRow, TraceLatencyDailyRow, TraceRow
from promptyard.tracing.guard_rollup import upsert_guard_counts
from promptyard.tracing.model import Trace
from promptyard.tracing.rollup import (
    DAILY_KEY_COLUMNS,
    DAILY_SUM_COLUMNS,
    aggregate,
    daily_rows,
    latency_rows,
    summary_row,
)

TRACES: Table = TraceRow.__table__  # type: ignore[assignment]
DAILY: Table = TraceDailyRow.__table__  # type: ignore[assignment]
LATENCY: Table = TraceLatencyDailyRow.__table__  # type: ignore[assignment]
_ID_CHUNK = 500


class SqlSink:
    name = "sql"

    def __init__(self, db: Database) -> None:
        if db.dialect not in ("sqlite", "postgresql"):
            raise ConfigError(f"trace SQL sink supports sqlite and postgresql, not {db.dialect!r}")
        self.db = db

    def write(self, traces: Sequence[Trace]) -> None:
        rows = {t.trace_id: summary_row(t) for t in traces}
        with self.db.engine.begin() as conn:
            for existing in _existing_ids(conn, list(rows)):
                rows.pop(existing, None)
            if rows:
                write_rows(conn, list(rows.values()))
                upsert_guard_counts(conn, [t for t in traces if t.trace_id in rows])

    def close(self) -> None:
        return None


def write_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert summary rows and fold them into the rollups (caller owns the transaction)."""
    insert_summaries(conn, rows)
    daily, latency = aggregate(rows)
    upsert_rollups(conn, daily_rows(daily), latency_rows(latency))


_COLUMNS = [c.name for c in TRACES.columns]


def insert_summaries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """A plain DBAPI ``executemany``: SQLAlchemy's per-row bind processing costs ~50 µs a row.

    On SQLite values are stored exactly as SQLAlchemy's ``DateTime``/``Date``/``Boolean``
    types store them (naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff``, ``YYYY-MM-DD``, 0/1), so
    ORM reads and range filters see the same thing; psycopg takes the Python values as they are.
    """
    if conn.dialect.name != "sqlite":
        if conn.dialect.name != "postgresql":
            conn.execute(insert(TRACES), rows)
            return
        mark = "%s"
        params = [tuple(r[c] for c in _COLUMNS) for r in rows]
    else:
        mark = "?"
        params = [tuple(_sqlite_value(r[c]) for c in _COLUMNS) for r in rows]
    sql = f"INSERT INTO traces ({', '.join(_COLUMNS)}) VALUES ({', '.join([mark] * len(_COLUMNS))})"
    conn.exec_driver_sql(sql, params)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def upsert_rollups(conn: Connection, daily: list[dict[str, Any]], latency: list[dict[str, Any]]) -> None:
    dialect = conn.dialect.name
    if daily:
        stmt = _insert(dialect, DAILY)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(DAILY_KEY_COLUMNS),
            set_={c: DAILY.c[c] + stmt.excluded[c] for c in DAILY_SUM_COLUMNS},
        )
        conn.execute(stmt, daily)
    if latency:
        lstmt = _insert(dialect, LATENCY)
        lstmt = lstmt.on_conflict_do_update(
            index_elements=["day", "project", "metric", "bucket"],
            set_={"count": LATENCY.c.count + lstmt.excluded.count},
        )
        conn.execute(lstmt, latency)


def _insert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _existing_ids(conn: Connection, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(ids), _ID_CHUNK):
        chunk = ids[i : i + _ID_CHUNK]
        found.update(conn.scalars(select(TRACES.c.trace_id).where(TRACES.c.trace_id.in_(chunk))))
    return found


def create(settings: Settings, db: Database) -> SqlSink:
    """Entry point ``promptyard.trace_sinks: sql``: the configured database."""
    return SqlSink(db)
