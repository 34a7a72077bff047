"""Turning traces into SQL summary rows and daily rollups.

The dashboard never scans raw traces: the writer folds each batch into
``trace_daily`` (sums per day and project, once per dimension: total, model, prompt,
transform, kind) and
``trace_latency_daily`` (a log-bucket latency histogram per day and project). Buckets grow
by 4% each, so a percentile read back from the histogram is within ±2% of the exact one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, date
from typing import Any

from promptyard.tracing.files import utc_day
from promptyard.tracing.model import Trace

LATENCY_BASE_MS = 0.1
LATENCY_RATIO = 1.04
_LOG_RATIO = math.log(LATENCY_RATIO)

DailyKey = tuple[date, str, str, str]
"""(day, project, dim, key); ``''`` stands for none."""
LatencyKey = tuple[date, str, str, int]
"""(day, project, metric, bucket)."""

DAILY_KEY_COLUMNS = ("day", "project", "dim", "key")
#: Dimension -> summary-row column (``total`` has no column: one row per day and project).
DIMENSIONS = {"total": None, "model": "model", "prompt": "prompt_name", "transform": "transform", "kind": "kind"}
DAILY_SUM_COLUMNS = (
    "requests",
    "top_level",
    "errors",
    "cancelled",
    "answer_cache_hits",
    "prompt_cache_hits",
    "provider_calls",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
    "answer_cache_saved_usd",
    "prompt_cache_saved_usd",
)


def latency_bucket(ms: float) -> int:
    """Bucket 0 holds everything up to 0.1 ms; bucket ``b`` ends at ``0.1 * 1.04**b`` ms."""
    if not ms > LATENCY_BASE_MS:  # also catches NaN
        return 0
    return max(1, math.ceil(math.log(ms / LATENCY_BASE_MS) / _LOG_RATIO - 1e-9))


def bucket_value(bucket: int) -> float:
    """A representative latency for a bucket: the geometric middle of its bounds."""
    if bucket <= 0:
        return LATENCY_BASE_MS
    return float(LATENCY_BASE_MS * LATENCY_RATIO ** (bucket - 0.5))


def _clip(value: str | None, size: int) -> str | None:
    return None if value is None else value[:size]


def summary_row(trace: Trace) -> dict[str, Any]:
    """The ``traces`` row for one trace."""
    ts = trace.timestamp if trace.timestamp.tzinfo else trace.timestamp.replace(tzinfo=UTC)
    return {
        "trace_id": trace.trace_id,
        "ts": ts,
        "day": utc_day(ts),
        "kind": trace.kind,
        "status": trace.status,
        "project": _clip(trace.project, 200) or "default",
        "parent_id": trace.parent_id,
        "end_user": _clip(trace.end_user, 200),
        "api_key_id": _clip(trace.api_key_id, 64),
        "prompt_name": _clip(trace.prompt_name, 200),
        "prompt_version": _clip(trace.prompt_version, 64),
        "prompt_label": _clip(trace.prompt_label, 100),
        "experiment_arm": _clip(trace.experiment_arm, 100),
        "corpus": _clip(trace.corpus, 200),
        "transform": _clip(trace.transform, 64),
        "provider": _clip(trace.provider, 64),
        "model": _clip(trace.model, 200),
        "stream": trace.stream,
        "answer_cache_hit": trace.answer_cache_hit,
        "cache_read_tokens": trace.cache_read_tokens,
        "cache_write_tokens": trace.cache_write_tokens,
        "input_tokens": trace.input_tokens,
        "output_tokens": trace.output_tokens,
        "cost_usd": trace.cost_usd,
        "cost_saved_usd": trace.cost_saved_usd,
        "retries": trace.retries,
        "fallback_used": _clip(trace.fallback_used, 200),
        "degraded": trace.degraded,
        "total_ms": trace.latency.total_ms,
        "ttft_ms": trace.latency.ttft_ms,
        "error_type": _clip(trace.error_type, 100),
        "error_message": trace.error_message,
        "experiment": _clip(trace.experiment, 100),
        "experiment_unit": _clip(trace.experiment_unit, 200),
    }


def daily_keys(row: dict[str, Any]) -> list[DailyKey]:
    """The rollup rows one summary row adds to: one per dimension."""
    day, project = row["day"], row["project"]
    return [(day, project, dim, (row[col] or "") if col else "") for dim, col in DIMENSIONS.items()]


def add_to_daily(acc: dict[str, float], row: dict[str, Any]) -> None:
    """Fold one summary row into a rollup accumulator."""
    hit = bool(row["answer_cache_hit"])
    provider_call = not hit and row["input_tokens"] > 0
    acc["requests"] += 1
    acc["top_level"] += row["parent_id"] is None
    acc["errors"] += row["status"] == "error"
    acc["cancelled"] += row["status"] == "cancelled"
    acc["answer_cache_hits"] += hit
    acc["prompt_cache_hits"] += provider_call and row["cache_read_tokens"] > 0
    acc["provider_calls"] += provider_call
    acc["input_tokens"] += row["input_tokens"]
    acc["output_tokens"] += row["output_tokens"]
    acc["cache_read_tokens"] += row["cache_read_tokens"]
    acc["cache_write_tokens"] += row["cache_write_tokens"]
    acc["cost_usd"] += row["cost_usd"]
    if hit:
        acc["answer_cache_saved_usd"] += row["cost_saved_usd"]
    else:
        acc["prompt_cache_saved_usd"] += row["cost_saved_usd"]


def aggregate(rows: Iterable[dict[str, Any]]) -> tuple[dict[DailyKey, dict[str, float]], dict[LatencyKey, int]]:
    """Rollup deltas for a batch of summary rows."""
    daily: dict[DailyKey, dict[str, float]] = {}
    latency: dict[LatencyKey, int] = {}
    for row in rows:
        for key in daily_keys(row):
            acc = daily.get(key)
            if acc is None:
                acc = daily[key] = dict.fromkeys(DAILY_SUM_COLUMNS, 0)
            add_to_daily(acc, row)
        if row["parent_id"] is None:
            lk = (row["day"], row["project"], "total", latency_bucket(row["total_ms"]))
            latency[lk] = latency.get(lk, 0) + 1
            if row["ttft_ms"] is not None:
                tk = (row["day"], row["project"], "ttft", latency_bucket(row["ttft_ms"]))
                latency[tk] = latency.get(tk, 0) + 1
    return daily, latency


def daily_rows(daily: dict[DailyKey, dict[str, float]]) -> list[dict[str, Any]]:
    """Rollup deltas as insert parameters, in key order (a fixed lock order on Postgres)."""
    return [dict(zip(DAILY_KEY_COLUMNS, key, strict=True)) | sums for key, sums in sorted(daily.items())]


def latency_rows(latency: dict[LatencyKey, int]) -> list[dict[str, Any]]:
    return [
        {"day": d, "project": p, "metric": m, "bucket": b, "count": n} for (d, p, m, b), n in sorted(latency.items())
    ]


def percentiles(histogram: Sequence[tuple[int, int]], quantiles: Sequence[float]) -> list[float | None]:
    """Quantiles from ``(bucket, count)`` pairs (any order)."""
    counts = sorted(histogram)
    total = sum(n for _, n in counts)
    if total == 0:
        return [None for _ in quantiles]
    out: list[float | None] = []
    for q in quantiles:
        rank = max(1, math.ceil(q * total))
        seen = 0
        value = bucket_value(counts[-1][0])
        for bucket, n in counts:
            seen += n
            if seen >= rank:
                value = bucket_value(bucket)
                break
        out.append(round(value, 3))
    return out
