"""Retention: delete trace files and rows older than ``PROMPTYARD_TRACE_RETENTION_DAYS``.

A day is kept while ``day >= today - retention_days`` (UTC). Files, summary rows, rollups
and budget alerts of older days go together, so the dashboard and the files agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

from promptyard.errors import InvalidInput
from promptyard.store.db import Database
from promptyard.store.tables.tracing import BudgetAlertRow, TraceDailyRow, TraceLatencyDailyRow, TraceRow
from promptyard.tracing.files import day_files

Clock = Callable[[], datetime]


@dataclass
class PurgeResult:
    cutoff: date
    """The oldest day kept."""
    files: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False


def cutoff_day(retention_days: int, now: datetime) -> date:
    if retention_days < 0:
        raise InvalidInput(f"retention must be 0 days or more, got {retention_days}")
    return now.astimezone(UTC).date() - timedelta(days=retention_days)


def purge(
    directory: Path,
    db: Database | None,
    retention_days: int,
    *,
    clock: Clock = lambda: datetime.now(UTC),
    dry_run: bool = False,
) -> PurgeResult:
    """Delete (or with ``dry_run`` only count) everything older than the cutoff day."""
    cutoff = cutoff_day(retention_days, clock())
    result = PurgeResult(cutoff=cutoff, dry_run=dry_run)
    result.files = [p for d, p in day_files(directory) if d < cutoff]
    if not dry_run:
        for path in result.files:
            path.unlink(missing_ok=True)
    if db is None:
        return result
    tables: dict[str, Any] = {
        "traces": TraceRow,
        "trace_daily": TraceDailyRow,
        "trace_latency_daily": TraceLatencyDailyRow,
        "budget_alerts": BudgetAlertRow,
    }
    with db.session() as s:
        for name, model in tables.items():
            if dry_run:
                n = s.scalar(select(func.count()).select_from(model).where(model.day < cutoff))
            else:
                n = s.execute(delete(model).where(model.day < cutoff)).rowcount  # type: ignore[attr-defined]
            result.rows[name] = int(n or 0)
    return result
