"""Daily spend persisted in the database, in batches, off the request path.

The request path only adds to an in-memory buffer. A background task wakes after the
first addition, waits ``flush_interval_s`` to gather a batch, and upserts it
(``spend = spend + batch``) in a worker thread, so several instances can add to the same
row. A failed flush puts the batch back and is counted; ``aclose`` flushes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from promptyard.gateway.stats import GatewayStats
from promptyard.store.db import Database
from promptyard.store.tables.gateway import DailySpendRow

log = logging.getLogger("promptyard.gateway.spend")


class SpendStore:
    def __init__(self, db: Database, *, stats: GatewayStats | None = None, flush_interval_s: float = 1.0) -> None:
        self.db = db
        self.stats = stats or GatewayStats()
        self.flush_interval_s = flush_interval_s
        self._pending: dict[tuple[str, date], list[float]] = {}
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._flush_lock: asyncio.Lock | None = None

    def add(self, project: str, day: date, usd: float, calls: int = 1) -> None:
        """Buffer a spend (never blocks, never raises)."""
        entry = self._pending.get((project, day))
        if entry is None:
            self._pending[(project, day)] = [usd, float(calls)]
        else:
            entry[0] += usd
            entry[1] += calls
        if self._task is None:
            self._start()
        elif self._wake is not None:
            self._wake.set()

    def pending(self, project: str, day: date) -> float:
        """Spend buffered here and not yet written (added to the persisted spend when re-seeding)."""
        entry = self._pending.get((project, day))
        return entry[0] if entry is not None else 0.0

    def _start(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (sync use): flushed by flush_sync / aclose
        self._wake = asyncio.Event()
        self._wake.set()
        self._task = asyncio.create_task(self._run(), name="promptyard-spend-flusher")

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.flush_interval_s)
            await self.flush()

    async def flush(self) -> None:
        """Write the buffered spend now (in a worker thread)."""
        if self._flush_lock is None:
            self._flush_lock = asyncio.Lock()
        async with self._flush_lock:
            batch, self._pending = self._pending, {}
            if not batch:
                return
            try:
                await asyncio.to_thread(self._write, batch)
            except Exception as exc:  # noqa: BLE001 - counted, logged, retried on the next flush
                self.stats.spend_flush_errors += 1
                log.warning("could not persist spend (%d rows), will retry: %s", len(batch), exc)
                for key, (usd, calls) in batch.items():
                    self.add(key[0], key[1], usd, int(calls))

    def flush_sync(self) -> None:
        batch, self._pending = self._pending, {}
        if batch:
            self._write(batch)

    def _write(self, batch: dict[tuple[str, date], list[float]]) -> None:
        table: Any = DailySpendRow.__table__
        now = datetime.now(UTC)
        rows = [
            {"project": p, "day": d, "cost_usd": usd, "calls": int(calls), "updated_at": now}
            for (p, d), (usd, calls) in sorted(batch.items())
        ]
        stmt: Any = postgresql.insert(table) if self.db.dialect == "postgresql" else sqlite.insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["project", "day"],
            set_={
                "cost_usd": table.c.cost_usd + stmt.excluded.cost_usd,
                "calls": table.c.calls + stmt.excluded.calls,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        with self.db.engine.begin() as conn:
            conn.execute(stmt, rows)

    def load(self, project: str, day: date) -> float:
        """Spend persisted so far for ``project`` on ``day`` (every instance's flushed spend)."""
        with self.db.session() as session:
            value = session.scalar(
                select(DailySpendRow.cost_usd).where(DailySpendRow.project == project, DailySpendRow.day == day)
            )
        return float(value or 0.0)

    async def aload(self, project: str, day: date) -> float:
        return await asyncio.to_thread(self.load, project, day)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
