"""Evaluation tables: versioned datasets and their items, runs, and per-item results.

A dataset version is immutable: re-adding changed content under the same name creates
the next version (``content_hash`` tells them apart). A run is attached to one prompt
version and, for evals, one dataset version. Each finished item is committed as its own
row; ``(run_id, item_id)`` is unique, so a resumed run can never count an item twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from promptyard.store.base import Base, JSONType, UTCDateTime, utcnow


class EvalDatasetRow(Base):
    """One immutable dataset version."""

    __tablename__ = "eval_datasets"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_eval_datasets_name_version"),
        Index("ix_eval_datasets_name", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(500), nullable=True)
    item_count: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EvalDatasetItemRow(Base):
    """One row of a dataset version; ``data`` holds the parsed item."""

    __tablename__ = "eval_dataset_items"
    __table_args__ = (UniqueConstraint("dataset_id", "item_id", name="uq_eval_dataset_items_dataset_item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("eval_datasets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)


class EvalRunRow(Base):
    """An eval or batch run of one prompt version. ``config_hash`` identifies a resumable run."""

    __tablename__ = "eval_runs"
    __table_args__ = (
        Index("ix_eval_runs_prompt", "prompt_name", "prompt_version"),
        Index("ix_eval_runs_config_hash", "config_hash"),
        Index("ix_eval_runs_dataset_id", "dataset_id"),
    )

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    prompt_name: Mapped[str] = mapped_column(String(200))
    prompt_version: Mapped[str] = mapped_column(String(64))
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("eval_datasets.id", ondelete="SET NULL"), nullable=True)
    dataset_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    dataset_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    config_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    total_items: Mapped[int] = mapped_column(Integer)
    aggregates: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    report_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class EvalResultRow(Base):
    """One finished item of a run: the answer, its metrics, judge verdict, cost and latency."""

    __tablename__ = "eval_results"
    __table_args__ = (UniqueConstraint("run_id", "item_id", name="uq_eval_results_run_item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("eval_runs.run_id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    output: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType)
    judge: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    trace_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
