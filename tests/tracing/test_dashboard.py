"""Dashboard numbers on seeded traces, checked against sums computed here from the seed."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from promptyard.costs.dashboard import cost_dashboard
from promptyard.errors import InvalidInput
from promptyard.store.db import Database
from promptyard.store.tables.tracing import BudgetAlertRow
from promptyard.tracing.model import Trace
from promptyard.tracing.sinks.sql import SqlSink

from .conftest import make_trace

TODAY = date(2026, 3, 31)


def seed() -> list[Trace]:
    """40 days of traffic: two models, three prompts, transforms, caches, errors, streams."""
    out: list[Trace] = []
    for d in range(40):
        day = datetime(2026, 3, 31, 10, tzinfo=UTC) - timedelta(days=d)
        for i in range(10):
            hit = i == 0
            out.append(
                make_trace(
                    timestamp=day + timedelta(minutes=i),
                    model="big" if i % 3 == 0 else "small",
                    prompt_name=["faq", "summary", "triage"][i % 3],
                    transform="hyde" if i % 4 == 0 else None,
                    status="error" if i == 9 else "ok",
                    answer_cache_hit=hit,
                    input_tokens=0 if hit else 1000,
                    cache_read_tokens=600 if i in (2, 3) else 0,
                    cost_usd=0.0 if hit else 0.01 * (1 + i % 3),
                    cost_saved_usd=0.05 if hit else (0.004 if i in (2, 3) else 0.0),
                    latency={"total_ms": 100.0 * (i + 1), "ttft_ms": 20.0 * (i + 1) if i % 2 else None},
                )
            )
    return out


def _in_window(t: Trace, days: int) -> bool:
    return (TODAY - t.timestamp.date()).days < days


def _exact_percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[max(1, math.ceil(q * len(s))) - 1]


@pytest.fixture
def seeded(db: Database) -> list[Trace]:
    traces = seed()
    sink = SqlSink(db)
    for i in range(0, len(traces), 37):
        sink.write(traces[i : i + 37])
    with db.session() as s:
        s.add(
            BudgetAlertRow(
                project="default",
                day=TODAY,
                threshold=0.8,
                spent_usd=0.17,
                budget_usd=0.2,
                fired_at=datetime(2026, 3, 31, 10, 5, tzinfo=UTC),
                webhook_status="200",
            )
        )
    return traces


def test_dashboard_numbers_match_the_seed(db: Database, seeded: list[Trace]) -> None:
    d = cost_dashboard(db, days=30, today=TODAY, daily_budget_usd=0.2)
    window = [t for t in seeded if _in_window(t, 30)]
    assert (d.start, d.end, len(d.daily)) == (date(2026, 3, 2), TODAY, 30)
    assert d.totals.requests == len(window) == 300
    assert d.totals.cost_usd == pytest.approx(sum(t.cost_usd for t in window))
    assert d.totals.errors == 30
    assert d.totals.error_rate == pytest.approx(0.1)
    per_day = [sum(t.cost_usd for t in window if t.timestamp.date() == p.day) for p in d.daily]
    assert [p.cost_usd for p in d.daily] == pytest.approx(per_day)
    assert per_day[-1] == pytest.approx(0.18)
    assert sum(p.cost_usd for p in d.daily) == pytest.approx(d.totals.cost_usd)
    by_model = {s.key: s.cost_usd for s in d.by_model}
    assert by_model == pytest.approx({m: sum(t.cost_usd for t in window if t.model == m) for m in ("big", "small")})
    assert sum(s.share for s in d.by_model) == pytest.approx(1.0)
    assert {s.key: s.requests for s in d.by_prompt} == {"faq": 120, "summary": 90, "triage": 90}
    assert {s.key for s in d.by_transform} == {"hyde", "(none)"}
    assert d.answer_cache.hits == 30
    assert d.answer_cache.hit_rate == pytest.approx(0.1)
    assert d.answer_cache.saved_usd == pytest.approx(1.5)
    assert (d.prompt_cache.hits, d.prompt_cache.eligible) == (60, 270)
    assert d.prompt_cache.saved_usd == pytest.approx(60 * 0.004)
    assert d.prompt_cache.read_tokens == 60 * 600
    totals = [t.latency.total_ms for t in window]
    for q, got in ((0.5, d.latency.p50_ms), (0.95, d.latency.p95_ms), (0.99, d.latency.p99_ms)):
        assert got == pytest.approx(_exact_percentile(totals, q), rel=0.021)
    ttfts = [t.latency.ttft_ms for t in window if t.latency.ttft_ms is not None]
    assert d.latency.ttft_count == len(ttfts)
    assert d.latency.ttft_p50_ms == pytest.approx(_exact_percentile(ttfts, 0.5), rel=0.021)
    assert d.budget.today_usd == pytest.approx(0.18)
    assert d.budget.today_fraction == pytest.approx(0.9)
    assert d.budget.days_over == 0
    assert [(a.threshold, a.webhook_status) for a in d.alerts] == [(0.8, "200")]


def test_window_and_project_filters(db: Database, seeded: list[Trace]) -> None:
    week = cost_dashboard(db, days=7, today=TODAY)
    assert week.totals.requests == 70
    assert week.budget.daily_budget_usd is None
    assert week.budget.today_fraction is None
    assert cost_dashboard(db, days=30, today=TODAY, project="elsewhere").totals.requests == 0
    empty = cost_dashboard(db, days=30, today=date(2020, 1, 1))
    assert (empty.totals.cost_usd, empty.latency.p50_ms, empty.by_model) == (0.0, None, [])


@pytest.mark.parametrize("days", [0, -3, 367])
def test_out_of_range_days_are_refused(db: Database, days: int) -> None:
    with pytest.raises(InvalidInput, match="days must be between 1 and 366"):
        cost_dashboard(db, days=days)
