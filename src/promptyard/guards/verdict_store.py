"""Stored verdicts in the project database (``guard_verdicts``): one row per (detection settings, text) hash."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from promptyard.guards.base import Verdict
from promptyard.store.db import Database
from promptyard.store.tables.guards import GuardVerdictRow

T: Any = GuardVerdictRow.__table__


class SqlVerdictStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, keys: Sequence[str]) -> dict[str, Verdict]:
        if not keys:
            return {}
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(T.c.key, T.c.verdict).where(T.c.key.in_(list(set(keys))))).all()
        return {key: Verdict.model_validate_json(raw) for key, raw in rows}

    def put(self, verdicts: Mapping[str, Verdict]) -> None:
        if not verdicts:
            return
        now = datetime.now(UTC)
        rows = [
            {"key": k, "guard": v.guard, "verdict": v.model_dump_json(), "created_at": now} for k, v in verdicts.items()
        ]
        insert = postgresql.insert(T) if self.db.dialect == "postgresql" else sqlite.insert(T)
        with self.db.engine.begin() as conn:
            conn.execute(insert.on_conflict_do_nothing(index_elements=["key"]), rows)
