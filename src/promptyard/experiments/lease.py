"""A lease in the database: at most one holder at a time, renewed by its holder, taken over
once it expires (the holder died). Both the take-over and the renewal are one conditional
``UPDATE ... WHERE name = ? AND (holder = me OR expires_at < now)``, so two instances racing
for an expired lease cannot both win, on SQLite or Postgres.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, update

from promptyard.errors import StoreError
from promptyard.store.db import Database
from promptyard.store.tables.experiments import LeaseRow


class Lease:
    def __init__(self, db: Database, name: str, holder: str, *, ttl_s: float = 30.0) -> None:
        self.db = db
        self.name = name
        self.holder = holder
        self.ttl = timedelta(seconds=ttl_s)

    def acquire(self, now: datetime) -> bool:
        """Take or renew the lease; False while another live holder has it."""
        expires = now + self.ttl
        with self.db.session() as s:
            result = cast(
                CursorResult[Any],
                s.execute(
                    update(LeaseRow)
                    .where(LeaseRow.name == self.name, or_(LeaseRow.holder == self.holder, LeaseRow.expires_at < now))
                    .values(holder=self.holder, expires_at=expires)
                    .execution_options(synchronize_session=False)
                ),
            )
            if result.rowcount == 1:
                return True
            if s.get(LeaseRow, self.name) is not None:
                return False
        try:
            with self.db.session() as s:
                s.add(LeaseRow(name=self.name, holder=self.holder, expires_at=expires))
        except StoreError:
            return False  # another instance created it first
        return True

    def release(self) -> None:
        with self.db.session() as s:
            row = s.get(LeaseRow, self.name)
            if row is not None and row.holder == self.holder:
                s.delete(row)

    def holder_now(self) -> str | None:
        with self.db.session() as s:
            row = s.get(LeaseRow, self.name)
            return row.holder if row is not None else None
