"""The cost dashboard on 1,000,000 traces: time ``GET /admin/costs.json`` on SQLite and on Postgres.

Run:  .venv/bin/python bench/dashboard.py                   (defaults: --rows 1000000 --days 30)

For each backend it creates a fresh database (a temporary SQLite file; a dedicated schema
``bench_dashboard`` in the Postgres ``test`` database, dropped afterwards), migrates it, and
fills it with synthetic trace summaries spread over ``--days`` days (8 models, 60 prompts,
4 query transforms, answer-cache hits, prompt-cache reads, errors, streams) through the
trace writer's own SQL path (``write_rows``: summary rows + daily rollups, 20,000 rows per
transaction). Then it calls ``/admin/costs.json`` through the real FastAPI app (viewer key,
30 days) once cold and ``--repeat`` times warm and prints the times, next to a one-query
scan of the raw ``traces`` table for comparison. Target: under 1 s on each backend.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text

from promptyard.runtime import Runtime
from promptyard.server.app import create_app
from promptyard.settings import Settings
from promptyard.store.tables.tracing import TraceRow
from promptyard.tracing.files import utc_day
from promptyard.tracing.sinks.sql import write_rows

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = "bench_dashboard"
MODELS = [
    "claude-haiku-4-5",
    "claude-sonnet-4-5",
    "gpt-4o-mini",
    "gpt-4.1",
    "gemini-2.5-flash",
    "smollm2",
    "llama-3.1-8b",
    "mistral-small",
]
PROMPTS = [f"prompt_{i:02d}" for i in range(60)]
TRANSFORMS = [None, None, "hyde", "multi_query", "rewrite"]


def synthetic_rows(n: int, days: int, seed: int = 7) -> Any:
    """Yield summary rows (the shape ``rollup.summary_row`` produces), newest day first."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    span = days * 86_400
    for i in range(n):
        ts = now - timedelta(seconds=rng.random() * span)
        hit = rng.random() < 0.18
        status = "error" if rng.random() < 0.02 else ("cancelled" if rng.random() < 0.01 else "ok")
        inp = 0 if hit else rng.randint(200, 4000)
        out = 0 if hit else rng.randint(10, 600)
        read = int(inp * 0.6) if not hit and rng.random() < 0.4 else 0
        cost = 0.0 if hit else (inp * 3 + out * 15) / 1e6
        total = rng.lognormvariate(6.3, 0.7)
        yield {
            "trace_id": f"{int(ts.timestamp() * 1000):012x}{i:016x}",
            "ts": ts,
            "day": utc_day(ts),
            "kind": "rag" if rng.random() < 0.3 else "prompt",
            "status": status,
            "project": "default",
            "parent_id": None,
            "end_user": f"user{rng.randint(1, 5000)}",
            "api_key_id": "bench",
            "prompt_name": rng.choice(PROMPTS),
            "prompt_version": "1.0.0",
            "prompt_label": "production",
            "experiment_arm": None,
            "corpus": None,
            "transform": rng.choice(TRANSFORMS),
            "provider": "bench",
            "model": rng.choice(MODELS),
            "stream": rng.random() < 0.3,
            "answer_cache_hit": hit,
            "cache_read_tokens": read,
            "cache_write_tokens": 0,
            "input_tokens": inp,
            "output_tokens": out,
            "cost_usd": cost,
            "cost_saved_usd": 0.002 if hit else read * 2.7 / 1e6,
            "retries": 0,
            "fallback_used": None,
            "degraded": False,
            "total_ms": total,
            "ttft_ms": total * 0.3 if rng.random() < 0.3 else None,
            "error_type": "provider_unavailable" if status == "error" else None,
            "error_message": None,
        }


def fill(rt: Runtime, rows: int, days: int, chunk: int = 20_000) -> float:
    start = time.perf_counter()
    batch: list[dict[str, Any]] = []
    done = 0
    for row in synthetic_rows(rows, days):
        batch.append(row)
        if len(batch) == chunk:
            with rt.db.engine.begin() as conn:
                write_rows(conn, batch)
            done += len(batch)
            batch = []
            print(f"\r  filled {done:,} rows", end="", flush=True)
    if batch:
        with rt.db.engine.begin() as conn:
            write_rows(conn, batch)
    print()
    return time.perf_counter() - start


def measure(name: str, url: str, home: Path, rows: int, days: int, repeat: int) -> dict[str, float]:
    rt = Runtime(Settings(home=home, database_url=url, daily_budget_usd=250.0))
    print(f"{name}: filling {rows:,} rows over {days} days ...")
    fill_s = fill(rt, rows, days)
    if rt.db.dialect == "postgresql":
        with rt.db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    key = rt.keys.create("bench", "viewer").secret
    since = datetime.now(UTC) - timedelta(days=30)
    with rt.db.session() as s:
        t0 = time.perf_counter()
        raw_total = s.scalar(select(func.sum(TraceRow.cost_usd)).where(TraceRow.ts >= since))
        raw_scan = time.perf_counter() - t0
    with TestClient(create_app(rt)) as client:
        headers = {"Authorization": f"Bearer {key}"}
        t0 = time.perf_counter()
        first = client.get("/admin/costs.json?days=30", headers=headers)
        cold = time.perf_counter() - t0
        assert first.status_code == 200, first.text
        warm = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            r = client.get("/admin/costs.json?days=30", headers=headers)
            warm.append(time.perf_counter() - t0)
            assert r.status_code == 200
        d = r.json()
    assert d["totals"]["requests"] > 0.9 * rows, d["totals"]
    print(
        f"  dashboard says: {d['totals']['requests']:,} traces, ${d['totals']['cost_usd']:,.2f} "
        f"(raw scan: ${raw_total or 0:,.2f}), p50 {d['latency']['p50_ms']} ms, "
        f"answer cache {d['answer_cache']['hit_rate']:.1%}"
    )
    rt.db.dispose()
    return {"fill": fill_s, "cold": cold, "warm": statistics.median(warm), "max": max(warm), "raw": raw_scan}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="py-dash-") as tmp:
        if args.only in (None, "sqlite"):
            url = f"sqlite:///{tmp}/dash.db"
            results["SQLite"] = measure("SQLite", url, Path(tmp) / "sqlite", args.rows, args.days, args.repeat)
        if args.only in (None, "postgres"):
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
            try:
                url = f"{PG_ADMIN}?options=-csearch_path%3D{SCHEMA}"
                results["Postgres"] = measure("Postgres", url, Path(tmp) / "pg", args.rows, args.days, args.repeat)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
                admin.dispose()
    print()
    print(
        f"{'backend':<10} {'rows':>10} {'fill':>8} {'costs.json cold':>16} {'warm p50':>9} {'warm max':>9} "
        f"{'raw 30-day SUM scan':>20}"
    )
    ok = True
    for name, r in results.items():
        ok &= r["cold"] < 1.0 and r["max"] < 1.0
        print(
            f"{name:<10} {args.rows:>10,} {r['fill']:>7.0f}s {r['cold'] * 1000:>14.0f}ms {r['warm'] * 1000:>7.0f}ms "
            f"{r['max'] * 1000:>7.0f}ms {r['raw'] * 1000:>18.0f}ms"
        )
    print("target < 1 s on each backend: " + ("met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
