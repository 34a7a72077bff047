"""Listing and filtering trace summaries in SQL (``/admin/traces`` and the CLI)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select

from promptyard.store.db import Database
from promptyard.store.tables.tracing import TraceRow
from promptyard.tracing.model import TraceKind, TraceStatus


class TraceFilter(BaseModel):
    since: date | None = None
    until: date | None = None
    prompt: str | None = None
    model: str | None = None
    status: TraceStatus | None = None
    kind: TraceKind | None = None
    project: str | None = None
    end_user: str | None = None
    error_type: str | None = None
    version: str | None = None
    """Only this prompt version."""
    text: str | None = None
    """Free text: matches the trace id, error message or end user, or any of ``text_ids``."""
    text_ids: list[str] = []
    """Traces whose full record contains ``text`` (found in the JSONL files by the caller)."""
    limit: int = 50
    offset: int = 0


class TraceSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    trace_id: str
    ts: datetime
    kind: str
    status: str
    project: str
    parent_id: str | None
    end_user: str | None
    prompt_name: str | None
    prompt_version: str | None
    prompt_label: str | None
    corpus: str | None
    transform: str | None
    provider: str | None
    model: str | None
    stream: bool
    answer_cache_hit: bool
    cache_read_tokens: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    cost_saved_usd: float
    retries: int
    fallback_used: str | None
    degraded: bool
    total_ms: float
    ttft_ms: float | None
    error_type: str | None
    error_message: str | None


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def list_traces(db: Database, f: TraceFilter) -> list[TraceSummary]:
    """Newest first. Uses the ``ts``, ``(prompt_name, ts)`` and ``(model, ts)`` indexes."""
    q = select(TraceRow)
    if f.since is not None:
        q = q.where(TraceRow.ts >= datetime.combine(f.since, time.min, UTC))
    if f.until is not None:
        q = q.where(TraceRow.ts < datetime.combine(f.until + timedelta(days=1), time.min, UTC))
    for column, value in (
        (TraceRow.prompt_name, f.prompt),
        (TraceRow.model, f.model),
        (TraceRow.status, f.status),
        (TraceRow.kind, f.kind),
        (TraceRow.project, f.project),
        (TraceRow.end_user, f.end_user),
        (TraceRow.error_type, f.error_type),
        (TraceRow.prompt_version, f.version),
    ):
        if value:
            q = q.where(column == value)
    if f.text:
        like = "%" + f.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(
            or_(
                TraceRow.trace_id == f.text,
                TraceRow.error_message.ilike(like, escape="\\"),
                TraceRow.end_user.ilike(like, escape="\\"),
                TraceRow.trace_id.in_(f.text_ids),
            )
        )
    q = q.order_by(TraceRow.ts.desc(), TraceRow.trace_id.desc()).limit(f.limit).offset(f.offset)
    with db.session() as s:
        out = [TraceSummary.model_validate(r) for r in s.scalars(q)]
    for item in out:
        item.ts = _utc(item.ts)
    return out


def get_summary(db: Database, trace_id: str) -> TraceSummary | None:
    with db.session() as s:
        row = s.get(TraceRow, trace_id)
        if row is None:
            return None
        out = TraceSummary.model_validate(row)
    out.ts = _utc(out.ts)
    return out


def children(db: Database, trace_id: str) -> list[TraceSummary]:
    """Sub-calls (query transforms, judges) recorded under a request."""
    with db.session() as s:
        rows = s.scalars(select(TraceRow).where(TraceRow.parent_id == trace_id).order_by(TraceRow.ts)).all()
        return [TraceSummary.model_validate(r) for r in rows]
