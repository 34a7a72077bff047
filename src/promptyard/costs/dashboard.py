"""The cost dashboard's numbers: what ``/admin/costs`` draws and ``/admin/costs.json`` returns.

Everything is read from the daily rollups the trace writer maintains (``trace_daily``,
``trace_latency_daily``) plus ``budget_alerts``, never from the raw ``traces`` table, so the
cost of a dashboard load depends on the number of days and distinct models/prompts, not on
the number of requests (1,000,000 traces: see ``bench/dashboard.py``).

Latency percentiles come from a log-bucket histogram (4% buckets): within ±2% of exact.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from promptyard.errors import InvalidInput
from promptyard.store.db import Database
from promptyard.store.tables.tracing import BudgetAlertRow, TraceDailyRow, TraceLatencyDailyRow
from promptyard.tracing.rollup import DAILY_SUM_COLUMNS, percentiles

MAX_DAYS = 366
TOP_N = 20

D = TraceDailyRow


class DayPoint(BaseModel):
    day: date
    cost_usd: float = 0.0
    requests: int = 0
    errors: int = 0
    answer_cache_hits: int = 0


class Split(BaseModel):
    key: str
    """The model, prompt or transform; ``(none)`` when not set."""
    requests: int
    cost_usd: float
    share: float
    """Fraction of the window's spend."""


class CacheStats(BaseModel):
    hits: int
    eligible: int
    """Requests (answer cache) or provider calls (prompt cache) that could have hit."""
    hit_rate: float
    saved_usd: float
    read_tokens: int = 0
    write_tokens: int = 0


class Latency(BaseModel):
    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    ttft_count: int
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    ttft_p99_ms: float | None


class AlertOut(BaseModel):
    day: date
    project: str
    threshold: float
    spent_usd: float
    budget_usd: float
    fired_at: datetime
    webhook_status: str | None


class Budget(BaseModel):
    daily_budget_usd: float | None
    today_usd: float
    today_fraction: float | None
    hard_stop: bool
    days_over: int
    """Days in the window whose spend passed the budget."""


class Totals(BaseModel):
    requests: int
    top_level: int
    errors: int
    cancelled: int
    error_rate: float
    cost_usd: float
    input_tokens: int
    output_tokens: int


class CostDashboard(BaseModel):
    generated_at: datetime
    project: str | None
    start: date
    end: date
    days: int
    totals: Totals
    daily: list[DayPoint]
    by_model: list[Split]
    by_prompt: list[Split]
    by_transform: list[Split]
    answer_cache: CacheStats
    prompt_cache: CacheStats
    latency: Latency
    budget: Budget
    alerts: list[AlertOut] = Field(default_factory=list)


def _window(q: Any, start: date, end: date, project: str | None, table: Any = D) -> Any:
    q = q.where(table.day >= start, table.day <= end)
    if project is not None:
        q = q.where(table.project == project)
    return q


def _rate(n: float, d: float) -> float:
    return round(n / d, 6) if d else 0.0


def cost_dashboard(
    db: Database,
    *,
    days: int = 30,
    project: str | None = None,
    daily_budget_usd: float | None = None,
    hard_stop: bool = False,
    today: date | None = None,
) -> CostDashboard:
    """Every number of the cost dashboard for the ``days`` UTC days ending ``today``."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be between 1 and {MAX_DAYS}, got {days}")
    end = today or datetime.now(UTC).date()
    start = end - timedelta(days=days - 1)
    sums = [func.coalesce(func.sum(getattr(D, c)), 0).label(c) for c in DAILY_SUM_COLUMNS]
    total = D.dim == "total"
    with db.engine.connect() as conn:
        tot = conn.execute(_window(select(*sums).where(total), start, end, project)).one()._mapping
        per_day = {
            r.day: r
            for r in conn.execute(_window(select(D.day, *sums).where(total).group_by(D.day), start, end, project))
        }
        splits = {
            dim: list(
                conn.execute(_window(select(D.key, *sums).where(D.dim == dim).group_by(D.key), start, end, project))
            )
            for dim in ("model", "prompt", "transform")
        }
        lat = _window(
            select(
                TraceLatencyDailyRow.metric, TraceLatencyDailyRow.bucket, func.sum(TraceLatencyDailyRow.count)
            ).group_by(TraceLatencyDailyRow.metric, TraceLatencyDailyRow.bucket),
            start,
            end,
            project,
            TraceLatencyDailyRow,
        )
        hist: dict[str, list[tuple[int, int]]] = {"total": [], "ttft": []}
        for metric, bucket, n in conn.execute(lat):
            hist.setdefault(metric, []).append((int(bucket), int(n)))
        alerts_q = _window(
            select(BudgetAlertRow).order_by(BudgetAlertRow.fired_at), start, end, project, BudgetAlertRow
        )
        alerts = [AlertOut.model_validate(r, from_attributes=True) for r in conn.execute(alerts_q)]

    cost = float(tot["cost_usd"])
    daily = []
    for i in range(days):
        day = start + timedelta(days=i)
        r = per_day.get(day)
        daily.append(
            DayPoint(day=day)
            if r is None
            else DayPoint(
                day=day,
                cost_usd=round(float(r.cost_usd), 6),
                requests=int(r.requests),
                errors=int(r.errors),
                answer_cache_hits=int(r.answer_cache_hits),
            )
        )
    p = percentiles(hist["total"], (0.5, 0.95, 0.99))
    tp = percentiles(hist["ttft"], (0.5, 0.95, 0.99))
    today_usd = daily[-1].cost_usd
    return CostDashboard(
        generated_at=datetime.now(UTC),
        project=project,
        start=start,
        end=end,
        days=days,
        totals=Totals(
            requests=int(tot["requests"]),
            top_level=int(tot["top_level"]),
            errors=int(tot["errors"]),
            cancelled=int(tot["cancelled"]),
            error_rate=_rate(tot["errors"], tot["requests"]),
            cost_usd=round(cost, 6),
            input_tokens=int(tot["input_tokens"]),
            output_tokens=int(tot["output_tokens"]),
        ),
        daily=daily,
        by_model=_splits(splits["model"], cost),
        by_prompt=_splits(splits["prompt"], cost),
        by_transform=_splits(splits["transform"], cost),
        answer_cache=CacheStats(
            hits=int(tot["answer_cache_hits"]),
            eligible=int(tot["requests"]),
            hit_rate=_rate(tot["answer_cache_hits"], tot["requests"]),
            saved_usd=round(float(tot["answer_cache_saved_usd"]), 6),
        ),
        prompt_cache=CacheStats(
            hits=int(tot["prompt_cache_hits"]),
            eligible=int(tot["provider_calls"]),
            hit_rate=_rate(tot["prompt_cache_hits"], tot["provider_calls"]),
            saved_usd=round(float(tot["prompt_cache_saved_usd"]), 6),
            read_tokens=int(tot["cache_read_tokens"]),
            write_tokens=int(tot["cache_write_tokens"]),
        ),
        latency=Latency(
            count=sum(n for _, n in hist["total"]),
            p50_ms=p[0],
            p95_ms=p[1],
            p99_ms=p[2],
            ttft_count=sum(n for _, n in hist["ttft"]),
            ttft_p50_ms=tp[0],
            ttft_p95_ms=tp[1],
            ttft_p99_ms=tp[2],
        ),
        budget=Budget(
            daily_budget_usd=daily_budget_usd,
            today_usd=today_usd,
            today_fraction=_rate(today_usd, daily_budget_usd) if daily_budget_usd else None,
            hard_stop=hard_stop,
            days_over=sum(1 for d in daily if daily_budget_usd and d.cost_usd > daily_budget_usd),
        ),
        alerts=alerts,
    )


def _splits(rows: list[Any], total_cost: float) -> list[Split]:
    out = [
        Split(
            key=r.key or "(none)",
            requests=int(r.requests),
            cost_usd=round(float(r.cost_usd), 6),
            share=_rate(float(r.cost_usd), total_cost),
        )
        for r in rows
    ]
    out.sort(key=lambda s: (-s.cost_usd, -s.requests, s.key))
    if len(out) <= TOP_N:
        return out
    head, tail = out[: TOP_N - 1], out[TOP_N - 1 :]
    rest_cost = sum(s.cost_usd for s in tail)
    head.append(
        Split(
            key=f"({len(tail)} others)",
            requests=sum(s.requests for s in tail),
            cost_usd=round(rest_cost, 6),
            share=_rate(rest_cost, total_cost),
        )
    )
    return head
