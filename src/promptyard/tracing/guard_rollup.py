"""Guard verdict counts: folded from traces into ``guard_daily``, read back for the dashboard."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from promptyard.store.tables.guards import GuardDailyRow
from promptyard.tracing.model import Trace

G: Any = GuardDailyRow.__table__


class GuardCount(BaseModel):
    guard: str
    outcome: str
    prompt: str
    count: int


def upsert_guard_counts(conn: Connection, traces: Sequence[Trace]) -> None:
    """Add each trace's verdicts (not ``pass``) to its day's counts (caller owns the transaction)."""
    counts: Counter[tuple[date, str, str, str, str]] = Counter()
    for t in traces:
        ts = t.timestamp if t.timestamp.tzinfo else t.timestamp.replace(tzinfo=UTC)
        day = ts.astimezone(UTC).date()
        for v in t.guards:
            if v.outcome != "pass":
                counts[(day, t.project[:200], v.guard[:64], v.outcome, (t.prompt_name or "")[:200])] += 1
    if not counts:
        return
    keys = ("day", "project", "guard", "outcome", "prompt")
    rows = [{**dict(zip(keys, k, strict=True)), "count": n} for k, n in counts.items()]
    insert = postgresql.insert(G) if conn.dialect.name == "postgresql" else sqlite.insert(G)
    stmt = insert.on_conflict_do_update(
        index_elements=["day", "project", "guard", "outcome", "prompt"],
        set_={"count": G.c.count + insert.excluded.count},
    )
    conn.execute(stmt, rows)


def guard_counts(conn: Connection, start: date, end: date, project: str | None = None) -> list[GuardCount]:
    """Blocked, redacted, flagged and failed counts per guard and prompt over ``[start, end]``."""
    q = (
        select(G.c.guard, G.c.outcome, G.c.prompt, func.sum(G.c.count))
        .where(G.c.day >= start, G.c.day <= end)
        .group_by(G.c.guard, G.c.outcome, G.c.prompt)
        .order_by(func.sum(G.c.count).desc())
    )
    if project:
        q = q.where(G.c.project == project)
    return [GuardCount(guard=g, outcome=o, prompt=p, count=int(n)) for g, o, p, n in conn.execute(q)]
