"""Tracing tables: one summary row per trace, daily rollups for the dashboard, budget alerts.

The full trace lives in the JSONL files (``<home>/traces/YYYY-MM-DD.jsonl``); the SQL row
holds what lists, filters and cost analytics need. ``trace_daily`` and ``trace_latency_daily``
are maintained by the trace writer in the same transaction as the summary rows, so the
dashboard reads a few thousand rollup rows instead of scanning millions of traces.
Key columns of the rollups use ``''`` for "none" (NULLs never conflict in a unique key).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from promptyard.store.base import Base, UTCDateTime


class TraceRow(Base):
    """The summary of one trace (a request or a sub-call)."""

    __tablename__ = "traces"
    __table_args__ = (
        Index("ix_traces_ts", "ts"),
        Index("ix_traces_prompt_ts", "prompt_name", "ts"),
        Index("ix_traces_model_ts", "model", "ts"),
        Index("ix_traces_day", "day"),
        Index("ix_traces_parent_id", "parent_id"),
        Index("ix_traces_experiment", "experiment"),
    )

    trace_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    project: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    end_user: Mapped[str | None] = mapped_column(String(200), nullable=True)
    api_key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prompt_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    prompt_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prompt_label: Mapped[str | None] = mapped_column(String(100), nullable=True)
    experiment_arm: Mapped[str | None] = mapped_column(String(100), nullable=True)
    corpus: Mapped[str | None] = mapped_column(String(200), nullable=True)
    transform: Mapped[str | None] = mapped_column(String(64), nullable=True)
    provider: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    stream: Mapped[bool] = mapped_column(Boolean, default=False)
    answer_cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    cache_read_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    cost_saved_usd: Mapped[float] = mapped_column(Float, default=0.0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    fallback_used: Mapped[str | None] = mapped_column(String(200), nullable=True)
    degraded: Mapped[bool] = mapped_column(Boolean, default=False)
    total_ms: Mapped[float] = mapped_column(Float, default=0.0)
    ttft_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    error_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    experiment: Mapped[str | None] = mapped_column(String(100), nullable=True)
    experiment_unit: Mapped[str | None] = mapped_column(String(200), nullable=True)


class TraceDailyRow(Base):
    """Per-day sums, once per dimension: ``dim`` is ``total`` (``key`` ''), ``model``,
    ``prompt``, ``transform`` or ``kind``, and ``key`` its value (``''`` for none).

    Every trace adds to one row per dimension, so a month is a few thousand rows
    whatever the traffic, and each dashboard split reads only its own rows.
    """

    __tablename__ = "trace_daily"
    __table_args__ = (UniqueConstraint("day", "project", "dim", "key", name="uq_trace_daily_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    project: Mapped[str] = mapped_column(String(200))
    dim: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    requests: Mapped[int] = mapped_column(Integer, default=0)
    top_level: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    answer_cache_hits: Mapped[int] = mapped_column(Integer, default=0)
    prompt_cache_hits: Mapped[int] = mapped_column(Integer, default=0)
    provider_calls: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    answer_cache_saved_usd: Mapped[float] = mapped_column(Float, default=0.0)
    prompt_cache_saved_usd: Mapped[float] = mapped_column(Float, default=0.0)


class TraceLatencyDailyRow(Base):
    """A per-day log-bucket histogram of ``total`` and ``ttft`` latencies of top-level traces."""

    __tablename__ = "trace_latency_daily"
    __table_args__ = (UniqueConstraint("day", "project", "metric", "bucket", name="uq_trace_latency_daily_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    project: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(16))
    bucket: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=0)


class BudgetAlertRow(Base):
    """A budget threshold crossed: at most one row per project, day and threshold."""

    __tablename__ = "budget_alerts"
    __table_args__ = (UniqueConstraint("project", "day", "threshold", name="uq_budget_alerts_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(200))
    day: Mapped[date] = mapped_column(Date)
    threshold: Mapped[float] = mapped_column(Float)
    spent_usd: Mapped[float] = mapped_column(Float)
    budget_usd: Mapped[float] = mapped_column(Float)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    webhook_status: Mapped[str | None] = mapped_column(String(200), nullable=True)
