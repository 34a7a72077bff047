"""Turning production traces into a dataset.

Each successful trace of the prompt since a date becomes one item: its inputs as the
row's inputs, its answer as the reference (a "silver" label: what production answered;
review and edit before trusting it as gold), the documents that were in its context as
the relevant ids, and tags naming the version, label and source trace. Traces with
redacted inputs or no answer cannot become rows and are counted, never silently lost;
repeated identical inputs keep only the latest trace.

``negative`` (from ``--feedback negative``) keeps only traces whose latest feedback was
negative: their answers were judged bad, so they go to ``metadata.rejected_answer`` and
the row has no reference answer (write the right one in before scoring against it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, Field

from promptyard.evals.model import DatasetItem
from promptyard.tracing.model import Trace
from promptyard.tracing.redact import REDACTED


class TraceSelection(BaseModel):
    items: list[DatasetItem] = Field(default_factory=list)
    considered: int = 0
    """Traces of the prompt in the time window."""
    skipped: dict[str, int] = Field(default_factory=dict)
    """Why other traces were left out: reason -> count."""


def _inputs_key(inputs: dict[str, object]) -> str:
    text = json.dumps(inputs, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _context_doc_ids(trace: Trace) -> list[str]:
    """Documents whose chunks were in the context, in ranking order."""
    if not trace.context_chunk_ids:
        return []
    in_context = set(trace.context_chunk_ids)
    ranked = trace.reranked or trace.fused or [*trace.vector_candidates, *trace.bm25_candidates]
    seen: dict[str, None] = {}
    for cand in ranked:
        if cand.chunk_id in in_context:
            seen.setdefault(cand.doc_id, None)
    return list(seen)


def items_from_traces(
    traces: Iterable[Trace],
    *,
    prompt: str,
    since: datetime | None = None,
    version: str | None = None,
    limit: int | None = None,
    negative: set[str] | None = None,
) -> TraceSelection:
    """Dataset items from the traces of ``prompt`` (optionally one version) at or after ``since``."""
    selection = TraceSelection()
    latest: dict[str, tuple[datetime, DatasetItem]] = {}

    def skip(reason: str) -> None:
        selection.skipped[reason] = selection.skipped.get(reason, 0) + 1

    for trace in traces:
        if trace.prompt_name != prompt or trace.kind not in ("prompt", "rag"):
            continue
        if since is not None and trace.timestamp < since:
            continue
        if version is not None and trace.prompt_version != version:
            continue
        if negative is not None and trace.trace_id not in negative:
            continue
        selection.considered += 1
        if trace.status != "ok":
            skip(f"status {trace.status}")
            continue
        if not trace.inputs or any(v == REDACTED for v in trace.inputs.values()):
            skip("inputs missing or redacted")
            continue
        if not trace.answer or trace.answer == REDACTED:
            skip("answer missing or redacted")
            continue
        key = _inputs_key(trace.inputs)
        tags = ["from-traces"]
        if trace.prompt_version:
            tags.append(f"version:{trace.prompt_version}")
        if trace.prompt_label:
            tags.append(f"label:{trace.prompt_label}")
        metadata = {"trace_id": trace.trace_id, "timestamp": trace.timestamp.isoformat(), "model": trace.model}
        if negative is not None:
            tags.append("feedback:negative")
            metadata["rejected_answer"] = trace.answer
        item = DatasetItem(
            item_id=trace.trace_id,
            inputs=dict(trace.inputs),
            expected=[] if negative is not None else [trace.answer],
            expected_doc_ids=_context_doc_ids(trace),
            tags=tags,
            metadata=metadata,
        )
        previous = latest.get(key)
        if previous is not None:
            skip("duplicate inputs")
            if previous[0] >= trace.timestamp:
                continue
        latest[key] = (trace.timestamp, item)
    ordered = sorted(latest.values(), key=lambda pair: (pair[0], pair[1].item_id))
    selection.items = [item for _, item in ordered][:limit] if limit is not None else [item for _, item in ordered]
    return selection
