"""Experiment tables: A/B splits and canaries on a label, feedback, online scores, leases.

An experiment row *is* the split: while its status is ``running`` the label it names
resolves through its weighted arms instead of the label's single version. The label row
itself keeps pointing at the baseline until a promotion moves it, so ending a split (a
stop or a canary rollback) returns every caller to the baseline at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from promptyard.store.base import Base, JSONType, UTCDateTime, utcnow


class ExperimentRow(Base):
    """One A/B test or canary. ``arms`` is ``[{"version": "1.0.0", "weight": 50.0}, ...]``."""

    __tablename__ = "experiments"
    __table_args__ = (Index("ix_experiments_prompt_label", "prompt_name", "label", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    prompt_name: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(100))
    arms: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    unit: Mapped[str] = mapped_column(String(20))
    primary_metric: Mapped[str] = mapped_column(String(100))
    guardrails: Mapped[list[str]] = mapped_column(JSONType)
    min_samples: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    """Canary state and thresholds: steps, hold_s, step index, step start, history."""
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class FeedbackRow(Base):
    """Feedback on one trace: explicit (thumbs, rating, comment) and implicit signals."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_trace_id", "trace_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trace_id: Mapped[str] = mapped_column(String(64))
    thumbs: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    rating: Mapped[float | None] = mapped_column(Float, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    signals: Mapped[list[str]] = mapped_column(JSONType)
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TraceScoreRow(Base):
    """An online evaluator's score of one live trace (0..1)."""

    __tablename__ = "trace_scores"
    __table_args__ = (Index("ix_trace_scores_trace_id", "trace_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trace_id: Mapped[str] = mapped_column(String(64))
    evaluator: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LeaseRow(Base):
    """A named lease: one holder at a time until ``expires_at`` (the canary controller's)."""

    __tablename__ = "controller_leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
