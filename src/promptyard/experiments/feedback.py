"""Feedback on a trace: thumbs, a rating, a comment and implicit signals, stored beside it.

Feedback is its own table keyed by trace id (a trace is written once, off the request
path; feedback arrives later, possibly several times). The latest value of each field
wins when an experiment reads it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from promptyard.prompts.records import UTCTime
from promptyard.store.base import utcnow
from promptyard.store.db import Database
from promptyard.store.tables.experiments import FeedbackRow

Signal = Literal["copied", "edited", "retried", "abandoned"]
#: Implicit signals that count a trace as negative feedback.
NEGATIVE_SIGNALS: frozenset[str] = frozenset({"retried", "abandoned"})


class FeedbackIn(BaseModel):
    """``POST /v1/feedback``: at least one of thumbs, rating, comment or signals."""

    trace_id: str = Field(min_length=1, max_length=64)
    thumbs: Literal["up", "down"] | None = None
    rating: float | None = Field(default=None, ge=0, le=5)
    """0 to 5."""
    comment: str | None = Field(default=None, max_length=10_000)
    signals: list[Signal] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> FeedbackIn:
        if self.thumbs is None and self.rating is None and not self.comment and not self.signals:
            raise ValueError("give at least one of thumbs, rating, comment or signals")
        return self


class Feedback(BaseModel):
    id: int
    trace_id: str
    thumbs: Literal["up", "down"] | None = None
    rating: float | None = None
    comment: str | None = None
    signals: list[Signal] = Field(default_factory=list)
    actor: str | None = None
    at: UTCTime

    @property
    def negative(self) -> bool:
        return (
            self.thumbs == "down"
            or (self.rating is not None and self.rating < 2.5)
            or bool(NEGATIVE_SIGNALS.intersection(self.signals))
        )


def _record(row: FeedbackRow) -> Feedback:
    return Feedback(
        id=row.id,
        trace_id=row.trace_id,
        thumbs=None if row.thumbs is None else ("up" if row.thumbs else "down"),
        rating=row.rating,
        comment=row.comment,
        signals=list(row.signals or []),
        actor=row.actor,
        at=row.at,
    )


class FeedbackStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, item: FeedbackIn, *, actor: str | None) -> Feedback:
        with self.db.session() as s:
            row = FeedbackRow(
                trace_id=item.trace_id,
                thumbs=None if item.thumbs is None else item.thumbs == "up",
                rating=item.rating,
                comment=item.comment,
                signals=list(item.signals),
                actor=actor,
                at=utcnow(),
            )
            s.add(row)
            s.flush()
            return _record(row)

    def for_trace(self, trace_id: str) -> list[Feedback]:
        with self.db.session() as s:
            rows = s.scalars(select(FeedbackRow).where(FeedbackRow.trace_id == trace_id).order_by(FeedbackRow.id))
            return [_record(r) for r in rows]

    def negative_trace_ids(self, trace_ids: list[str] | None = None) -> set[str]:
        """Traces whose latest feedback is negative (thumbs down, rating < 2.5, retried, abandoned)."""
        latest: dict[str, Feedback] = {}
        with self.db.session() as s:
            query = select(FeedbackRow).order_by(FeedbackRow.id)
            if trace_ids is not None:
                query = query.where(FeedbackRow.trace_id.in_(trace_ids))
            for row in s.scalars(query):
                latest[row.trace_id] = _record(row)
        return {tid for tid, fb in latest.items() if fb.negative}
