"""SQL summary rows and rollups, on SQLite and on the real Postgres."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, inspect, select

from promptyard.errors import InvalidInput
from promptyard.store.db import Database
from promptyard.store.tables.tracing import BudgetAlertRow, TraceDailyRow, TraceLatencyDailyRow, TraceRow
from promptyard.tracing.queries import TraceFilter, children, get_summary, list_traces
from promptyard.tracing.retention import purge
from promptyard.tracing.rollup import aggregate, bucket_value, daily_rows, latency_bucket, summary_row
from promptyard.tracing.sinks.jsonl import JsonlSink
from promptyard.tracing.sinks.sql import SqlSink, upsert_rollups

from .conftest import T0, make_trace, rag_trace


def _count(db: Database, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _daily(db: Database) -> dict[tuple[str, str], dict[str, float]]:
    """Rollup rows summed over days: (dim, key) -> sums."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    with db.engine.connect() as conn:
        for r in conn.execute(select(TraceDailyRow)).mappings():
            acc = out.setdefault((r["dim"], r["key"]), {})
            for col, value in r.items():
                if col not in ("id", "day", "project", "dim", "key"):
                    acc[col] = acc.get(col, 0) + value
    return out


def test_indexes_exist(db: Database) -> None:
    names = {ix["name"] for ix in inspect(db.engine).get_indexes("traces")}
    assert {"ix_traces_ts", "ix_traces_prompt_ts", "ix_traces_model_ts"} <= names


def test_rows_and_rollups_are_written_once_per_trace(db: Database) -> None:
    sink = SqlSink(db)
    batch = [
        make_trace(),
        make_trace(status="error", error_type="provider_unavailable", output_tokens=0, cost_usd=0.0, answer=None),
        make_trace(answer_cache_hit=True, input_tokens=0, output_tokens=0, cost_usd=0.0, cost_saved_usd=0.01),
        make_trace(model="m2", cache_read_tokens=80, cost_saved_usd=0.002, stream=True, latency={"ttft_ms": 30.0}),
        rag_trace(),
        make_trace(kind="transform", parent_id="parent", prompt_name=None, transform="hyde", cost_usd=0.001),
    ]
    sink.write(batch)
    sink.write(batch[:3])  # a retried batch: no duplicates, no double counting
    assert _count(db, TraceRow) == 6
    daily = _daily(db)
    assert {dim for dim, _key in daily} == {"total", "model", "prompt", "transform", "kind"}
    total = daily[("total", "")]
    assert (total["requests"], total["top_level"], total["errors"]) == (6, 5, 1)
    assert total["cost_usd"] == pytest.approx(sum(t.cost_usd for t in batch))
    for dim in ("model", "prompt", "transform", "kind"):  # every dimension adds up to the total
        assert sum(v["requests"] for (d, _k), v in daily.items() if d == dim) == 6
    m1 = daily[("model", "m1")]
    assert m1["requests"] == 5
    assert (m1["errors"], m1["answer_cache_hits"], m1["provider_calls"]) == (1, 1, 4)
    assert m1["answer_cache_saved_usd"] == pytest.approx(0.01)
    m2 = daily[("model", "m2")]
    assert (m2["prompt_cache_hits"], m2["cache_read_tokens"]) == (1, 80)
    assert m2["prompt_cache_saved_usd"] == pytest.approx(0.002)
    assert daily[("prompt", "")]["requests"] == 1  # the transform sub-call has no prompt
    assert daily[("transform", "hyde")]["requests"] == 2
    assert daily[("transform", "hyde")]["top_level"] == 1
    assert daily[("kind", "rag")]["requests"] == 1
    with db.engine.connect() as conn:
        hist = conn.execute(
            select(TraceLatencyDailyRow.metric, func.sum(TraceLatencyDailyRow.count)).group_by(
                TraceLatencyDailyRow.metric
            )
        ).all()
    assert dict(hist) == {"total": 5, "ttft": 1}  # top-level traces only


def test_incremental_rollups_equal_a_rebuild_from_raw_rows(db: Database) -> None:
    sink = SqlSink(db)
    traces = [
        make_trace(
            timestamp=T0 + timedelta(hours=7 * i),
            model=f"m{i % 3}",
            prompt_name=f"p{i % 4}",
            cost_usd=0.001 * i,
            answer_cache_hit=i % 5 == 0,
            latency={"total_ms": 10.0 + i},
        )
        for i in range(60)
    ]
    for i in range(0, 60, 7):
        sink.write(traces[i : i + 7])
    incremental = _daily(db)
    with db.engine.begin() as conn:
        conn.execute(delete(TraceDailyRow))
        conn.execute(delete(TraceLatencyDailyRow))
        rows = [summary_row(t) for t in traces]
        daily, _latency = aggregate(rows)
        upsert_rollups(conn, daily_rows(daily), [])
    rebuilt = _daily(db)
    assert incremental.keys() == rebuilt.keys()
    for key, row in incremental.items():
        for col in ("requests", "answer_cache_hits", "provider_calls"):
            assert row[col] == rebuilt[key][col]
        assert row["cost_usd"] == pytest.approx(rebuilt[key]["cost_usd"])


def test_latency_buckets_are_within_two_percent() -> None:
    for ms in (0.5, 1.0, 12.3, 250.0, 999.0, 45_000.0):
        assert bucket_value(latency_bucket(ms)) == pytest.approx(ms, rel=0.021)
    assert latency_bucket(0.0) == 0
    assert latency_bucket(float("nan")) == 0


def test_list_filters_and_summaries(db: Database) -> None:
    sink = SqlSink(db)
    parent = make_trace(timestamp=T0)
    sink.write(
        [
            parent,
            make_trace(timestamp=T0 + timedelta(minutes=1), model="m2"),
            make_trace(timestamp=T0 + timedelta(days=1), status="error", error_type="provider_timeout"),
            make_trace(timestamp=T0 + timedelta(minutes=2), kind="transform", parent_id=parent.trace_id),
        ]
    )
    assert len(list_traces(db, TraceFilter())) == 4
    newest = list_traces(db, TraceFilter(limit=1))[0]
    assert (newest.status, newest.ts.tzinfo is not None) == ("error", True)
    assert [r.model for r in list_traces(db, TraceFilter(model="m2"))] == ["m2"]
    assert len(list_traces(db, TraceFilter(since=date(2026, 3, 15)))) == 1
    assert len(list_traces(db, TraceFilter(until=date(2026, 3, 14)))) == 3
    assert len(list_traces(db, TraceFilter(status="error", prompt="greet"))) == 1
    assert len(list_traces(db, TraceFilter(limit=2, offset=3))) == 1
    summary = get_summary(db, parent.trace_id)
    assert summary is not None
    assert summary.ts == T0
    assert get_summary(db, "nope") is None
    assert [c.kind for c in children(db, parent.trace_id)] == ["transform"]


def test_purge_deletes_old_files_rows_and_rollups(db: Database, traces_dir: Path) -> None:
    now = datetime(2026, 3, 31, 15, 0, tzinfo=UTC)
    batch = [make_trace(timestamp=now - timedelta(days=d)) for d in (0, 1, 5, 10, 11, 40)]
    SqlSink(db).write(batch)
    sink = JsonlSink(traces_dir)
    sink.write(batch)
    sink.close()
    with db.session() as s:
        s.add(
            BudgetAlertRow(
                project="default",
                day=date(2026, 3, 1),
                threshold=0.8,
                spent_usd=8,
                budget_usd=10,
                fired_at=now - timedelta(days=30),
            )
        )
    dry = purge(traces_dir, db, 10, clock=lambda: now, dry_run=True)
    assert dry.cutoff == date(2026, 3, 21)
    assert [p.name for p in dry.files] == ["2026-02-19.jsonl", "2026-03-20.jsonl"]
    assert dry.rows["traces"] == 2
    assert _count(db, TraceRow) == 6  # dry run deleted nothing
    assert len(list(traces_dir.iterdir())) == 6
    done = purge(traces_dir, db, 10, clock=lambda: now)
    assert done.rows == {"traces": 2, "trace_daily": 2 * 5, "trace_latency_daily": 2, "budget_alerts": 1}
    assert sorted(p.name for p in traces_dir.iterdir())[0] == "2026-03-21.jsonl"
    assert _count(db, TraceRow) == 4
    with pytest.raises(InvalidInput):
        purge(traces_dir, db, -1)
