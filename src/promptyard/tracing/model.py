"""The trace record: one per request, whatever happened.

The gateway fills one :class:`Trace` per call (success, error, cache hit, stream,
cancelled stream) and hands it to a :class:`TraceRecorder`. Sinks (JSONL, SQL,
OpenTelemetry) write it off the request path.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from promptyard.guards.base import Verdict

TraceStatus = Literal["ok", "error", "cancelled"]
TraceKind = Literal["prompt", "chat", "rag", "transform", "judge", "eval"]


def new_trace_id() -> str:
    """A sortable id: 12 hex digits of milliseconds, then 16 random hex digits."""
    return f"{int(time.time() * 1000):012x}{os.urandom(8).hex()}"


class Candidate(BaseModel):
    """A retrieved chunk with its score at one stage."""

    chunk_id: str
    doc_id: str
    score: float


class CitationRecord(BaseModel):
    doc_id: str
    valid: bool
    flags: list[str] = []


class StageLatencies(BaseModel):
    """Milliseconds per stage; ``None`` when the stage did not run."""

    embed_ms: float | None = None
    vector_ms: float | None = None
    bm25_ms: float | None = None
    rerank_ms: float | None = None
    transform_ms: float | None = None
    generate_ms: float | None = None
    ttft_ms: float | None = None
    total_ms: float = 0.0


class Trace(BaseModel):
    """One request's record.

    Empty lists and dicts are plain defaults, not ``default_factory=list``: pydantic copies
    them per instance all the same, and ``model_construct`` (the gateway's fast path) then
    skips an ``inspect.signature`` of the factory per field per trace (~0.8 ms a trace).
    """

    trace_id: str = Field(default_factory=new_trace_id)
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))
    kind: TraceKind = "prompt"
    status: TraceStatus = "ok"
    project: str = "default"
    end_user: str | None = None
    api_key_id: str | None = None
    parent_id: str | None = None
    """Set on sub-calls (a query transform, a judge call) to the request they belong to."""

    # prompt
    prompt_name: str | None = None
    prompt_version: str | None = None
    prompt_label: str | None = None
    experiment: str | None = None
    """The experiment or canary that chose the version (a split on the label)."""
    experiment_arm: str | None = None
    """The arm (a version) the split assigned."""
    experiment_unit: str | None = None
    """The unit id the assignment hashed (end user, session or API key); None: random."""
    inputs: dict[str, Any] | None = None
    """Variables as given (redacted per ``PROMPTYARD_TRACE_REDACT``)."""
    query: str | None = None
    prompt_chars: int = 0
    prompt_tokens_estimate: int | None = None

    # retrieval
    corpus: str | None = None
    corpus_version: int | None = None
    transform: str | None = None
    transform_outputs: list[str] = []
    vector_candidates: list[Candidate] = []
    bm25_candidates: list[Candidate] = []
    fused: list[Candidate] = []
    reranked: list[Candidate] = []
    context_chunk_ids: list[str] = []

    # provider
    provider: str | None = None
    model: str | None = None
    request_id: str | None = None
    stream: bool = False
    answer_cache_hit: bool = False
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cost_saved_usd: float = 0.0
    """Dollars the answer cache (cost of the original call) or prompt cache saved."""
    retries: int = 0
    fallback_used: str | None = None
    degraded: bool = False
    finish_reason: str | None = None

    latency: StageLatencies = Field(default_factory=StageLatencies)

    # outcome
    error_type: str | None = None
    error_message: str | None = None
    answer: str | None = None
    citations: list[CitationRecord] = []
    flags: list[str] = []
    guards: list[Verdict] = []
    """Guard verdicts: every triggered or failed one, and the top score of each guard that passed."""
    config: dict[str, Any] = {}
    """What replay needs: model config, retrieval parameters."""


class TraceRecorder(Protocol):
    """Where the gateway hands finished traces. Must never block or raise."""

    def record(self, trace: Trace) -> None: ...


class NullRecorder:
    """Drops traces on purpose (tracing switched off)."""

    def record(self, trace: Trace) -> None:
        return None


class MemoryRecorder:
    """Keeps traces in a list: for tests and benchmarks."""

    def __init__(self) -> None:
        self.traces: list[Trace] = []

    def record(self, trace: Trace) -> None:
        self.traces.append(trace)
