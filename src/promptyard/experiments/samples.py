"""What an experiment observed: one sample per trace, read from the trace summaries,
with the trace's latest feedback and its online scores joined on.

The analysis and the canary controller both read through :func:`load_samples`, so an
``experiments status`` and a canary decision always see the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from promptyard.errors import InvalidInput
from promptyard.store.db import Database
from promptyard.store.tables.experiments import FeedbackRow, TraceScoreRow
from promptyard.store.tables.tracing import TraceRow

#: Trace fields a segment breakdown may group by.
SEGMENT_FIELDS = ("model", "provider", "end_user", "api_key_id", "project", "kind", "corpus", "prompt_label", "status")


@dataclass(slots=True)
class Sample:
    trace_id: str
    ts: datetime
    arm: str
    unit: str | None
    status: str
    total_ms: float
    cost_usd: float
    segment: str | None = None
    thumbs: bool | None = None
    rating: float | None = None
    scores: dict[str, float] = field(default_factory=dict)


def load_samples(
    db: Database, experiment: str, *, since: datetime | None = None, segment: str | None = None
) -> list[Sample]:
    """Top-level traces of ``experiment`` (optionally at or after ``since``), oldest first."""
    if segment is not None and segment not in SEGMENT_FIELDS:
        raise InvalidInput(f"cannot segment by {segment!r}", hint="use one of " + ", ".join(SEGMENT_FIELDS))
    t = TraceRow
    seg_col = getattr(t, segment) if segment is not None else None
    cols = [t.trace_id, t.ts, t.experiment_arm, t.experiment_unit, t.status, t.total_ms, t.cost_usd]
    query = select(*cols, *([seg_col] if seg_col is not None else [])).where(
        t.experiment == experiment, t.parent_id.is_(None)
    )
    if since is not None:
        query = query.where(t.ts >= since)
    samples: dict[str, Sample] = {}
    with db.session() as s:
        for row in s.execute(query.order_by(t.ts, t.trace_id)):
            r: tuple[Any, ...] = tuple(row)
            samples[r[0]] = Sample(
                trace_id=r[0],
                ts=r[1],
                arm=r[2] or "",
                unit=r[3],
                status=r[4],
                total_ms=r[5] or 0.0,
                cost_usd=r[6] or 0.0,
                segment=(None if r[7] is None else str(r[7])) if seg_col is not None else None,
            )
        ids = select(t.trace_id).where(t.experiment == experiment)
        feedback = s.execute(
            select(FeedbackRow.trace_id, FeedbackRow.thumbs, FeedbackRow.rating)
            .where(FeedbackRow.trace_id.in_(ids))
            .order_by(FeedbackRow.id)
        )
        for trace_id, thumbs, rating in feedback:  # the latest feedback of a trace wins, field by field
            sample = samples.get(trace_id)
            if sample is not None:
                sample.thumbs = thumbs if thumbs is not None else sample.thumbs
                sample.rating = rating if rating is not None else sample.rating
        scores = s.execute(
            select(TraceScoreRow.trace_id, TraceScoreRow.evaluator, TraceScoreRow.score).where(
                TraceScoreRow.trace_id.in_(ids)
            )
        )
        for trace_id, evaluator, score in scores:
            sample = samples.get(trace_id)
            if sample is not None:
                sample.scores[evaluator] = score
    return list(samples.values())


def values(samples: Sequence[Sample], metric: str) -> NDArray[np.float64]:
    """The metric per sample, NaN where a sample has none (no feedback, no score)."""
    out = np.full(len(samples), math.nan)
    for i, sample in enumerate(samples):
        value = metric_value(sample, metric)
        if value is not None:
            out[i] = value
    return out


def metric_value(sample: Sample, metric: str) -> float | None:
    if metric == "feedback.thumbs_up":
        return None if sample.thumbs is None else float(sample.thumbs)
    if metric == "feedback.rating":
        return sample.rating
    if metric == "error_rate":
        return 1.0 if sample.status == "error" else 0.0
    if metric in ("latency", "p95_latency"):
        return sample.total_ms
    if metric == "cost":
        return sample.cost_usd
    if metric.startswith("score."):
        return sample.scores.get(metric[len("score.") :])
    raise InvalidInput(f"unknown metric {metric!r}")
