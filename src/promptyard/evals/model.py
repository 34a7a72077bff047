"""Evaluation records: dataset items, model answers, judge verdicts, per-item results and runs.

These pydantic models are shared by the Python API, the CLI and the store, so every
surface shows the same fields.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field


def _as_utc(value: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UTCTime = Annotated[datetime, AfterValidator(_as_utc)]

ResultStatus = Literal["ok", "error", "skipped"]
RunStatus = Literal["running", "interrupted", "completed", "failed"]
RunKind = Literal["eval", "batch"]
TargetKind = Literal["prompt", "rag"]


class ItemChecks(BaseModel):
    """Per-item expectations beyond reference answers. Unset checks are not scored."""

    contains: list[str] = Field(default_factory=list)
    """Strings the output must contain (all of them, case-insensitive)."""
    regex: str | None = None
    """A pattern the output must match (``re.search``)."""
    json_schema: dict[str, Any] | None = None
    """A JSON Schema the output, parsed as JSON, must satisfy."""
    should_abstain: bool | None = None
    """Whether the right answer is to abstain. Unset: ``False`` when reference answers exist."""


class DatasetItem(BaseModel):
    """One dataset row: inputs for the prompt, and what a good answer looks like."""

    item_id: str
    line: int = 0
    """Line of the row in its source file (1-based; 0 when not from a file)."""
    inputs: dict[str, Any] = Field(default_factory=dict)
    expected: list[str] = Field(default_factory=list)
    """Reference answers: exact match and F1 take the best over them."""
    expected_doc_ids: list[str] = Field(default_factory=list)
    """Relevant document ids for retrieval metrics."""
    tags: list[str] = Field(default_factory=list)
    checks: ItemChecks = Field(default_factory=ItemChecks)
    human_score: int | None = None
    """A human 1-5 label, for the judge agreement report."""
    metadata: dict[str, Any] = Field(default_factory=dict)


class DatasetInfo(BaseModel):
    """One stored dataset version."""

    name: str
    version: int
    content_hash: str
    item_count: int
    source: str | None = None
    created_by: str
    created_at: UTCTime

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


class Citation(BaseModel):
    doc_id: str
    valid: bool | None = None
    """Set by the target when it checked the citation; unset: checked against the context ids."""


class ModelAnswer(BaseModel):
    """What a target (a prompt through the gateway, or a RAG answer) produced for one item."""

    text: str
    parsed: Any = None
    retrieved_doc_ids: list[str] | None = None
    """Ranked document ids from retrieval (RAG targets), for retrieval metrics."""
    context_doc_ids: list[str] | None = None
    """Document ids that were in the model's context, for citation checks."""
    citations: list[Citation] | None = None
    """Citations as the target reported them; unset: parsed from ``[doc_id]`` markers in ``text``."""
    abstained: bool | None = None
    """Set by targets that recognise abstention; unset: detected from the text."""
    flags: list[str] = Field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    cache_hit: bool = False
    trace_id: str | None = None
    provider: str | None = None
    model: str | None = None


#: The injected "call the model" function: one dataset item in, one answer out.
#: Raising a :class:`~promptyard.errors.PromptyardError` records the item as an error;
#: any other exception stops the run (finished items stay committed; a restart resumes).
CallFn = Callable[[DatasetItem], Awaitable[ModelAnswer]]


class JudgeVerdict(BaseModel):
    """The judge's verdict on one answer. ``status == "failed"`` is a judge failure, never a zero."""

    status: Literal["ok", "failed"]
    score: int | None = None
    reason: str | None = None
    error: str | None = None
    raw: str | None = None


class ItemResult(BaseModel):
    item_id: str
    position: int
    status: ResultStatus
    output: str | None = None
    error: str | None = None
    metrics: dict[str, float | None] = Field(default_factory=dict)
    judge: JudgeVerdict | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    """Retrieved ids, citations, flags, parsed output: what the report and batch output need."""
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    cache_hit: bool = False
    trace_id: str | None = None


class RunConfig(BaseModel):
    """Everything that defines a run's results. Runs with the same config hash resume each other."""

    kind: RunKind = "eval"
    prompt_name: str
    prompt_version: str
    dataset_id: int | None = None
    dataset_name: str | None = None
    dataset_version: int | None = None
    input_hash: str | None = None
    """Batch runs: sha256 of the input file."""
    output_path: str | None = None
    target: TargetKind = "prompt"
    corpus: str | None = None
    top_k: int | None = None
    ks: list[int] = Field(default_factory=lambda: [5, 10])
    judge: str | None = None
    """Judge prompt ``name@version``; unset: no judge."""
    judge_model: str | None = None
    use_cache: bool = True
    limit: int | None = None
    skip_invalid: bool = False

    def config_hash(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def prompt_ref(self) -> str:
        return f"{self.prompt_name}@{self.prompt_version}"


class RunInfo(BaseModel):
    run_id: str
    kind: RunKind
    prompt_name: str
    prompt_version: str
    dataset_id: int | None = None
    dataset_name: str | None = None
    dataset_version: int | None = None
    config: RunConfig
    status: RunStatus
    total_items: int
    aggregates: dict[str, Any] | None = None
    report_path: str | None = None
    created_by: str
    created_at: UTCTime
    finished_at: UTCTime | None = None

    @property
    def prompt_ref(self) -> str:
        return f"{self.prompt_name}@{self.prompt_version}"

    @property
    def dataset_ref(self) -> str | None:
        return f"{self.dataset_name}@{self.dataset_version}" if self.dataset_name else None
