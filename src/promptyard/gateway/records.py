"""One trace and one result per call, built from what the pipeline gathered.

Both are built without validation (:mod:`.fastmodel`): every value here was produced by
typed code, so re-validating it per call would only cost time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from promptyard.errors import PromptyardError
from promptyard.gateway.base import CallContext, GatewayResult
from promptyard.gateway.engine import CallState, Generated
from promptyard.gateway.fastmodel import Constructor
from promptyard.gateway.guarding import GuardRun
from promptyard.gateway.plan import Plan
from promptyard.providers.base import Usage
from promptyard.tracing.model import StageLatencies, Trace, TraceKind, TraceStatus

_ZERO = Usage()
_result = Constructor(GatewayResult)
_trace = Constructor(Trace)
_latencies = Constructor(StageLatencies)


@dataclass(slots=True)
class CallRecord:
    """Everything the trace of one call needs, filled in as the call goes."""

    trace_id: str
    t0: float
    started: datetime
    kind: TraceKind
    project: str
    ctx: CallContext
    stream: bool = False
    plan: Plan | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    prompt_label: str | None = None
    inputs: dict[str, Any] | None = None
    corpus_version: int | None = None
    experiment: str | None = None
    experiment_arm: str | None = None
    experiment_unit: str | None = None
    state: CallState = field(default_factory=CallState)
    generated: Generated | None = None
    cache_hit: bool = False
    coalesced: bool = False
    traced: bool = False
    guard_run: GuardRun | None = None

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.t0) * 1000.0


def build_result(rec: CallRecord, gen: Generated) -> GatewayResult:
    """The caller's view. ``cost_usd`` is what *this* call spent (0 for cache hits and coalesced calls)."""
    plan = rec.plan
    return _result(
        text=gen.text,
        parsed=gen.parsed,
        provider=gen.provider,
        model=gen.model,
        finish_reason=gen.finish_reason,
        usage=gen.usage,
        cost_usd=rec.state.cost_usd,
        cache_hit=rec.cache_hit or rec.coalesced or gen.stale,
        degraded=gen.degraded,
        fallback_used=gen.fallback_used,
        retries=gen.retries,
        trace_id=rec.trace_id,
        prompt=plan.prompt_ref if plan is not None else None,
        request_id=gen.request_id,
        latency_ms=rec.elapsed_ms(),
        stale=gen.stale,
    )


def build_trace(rec: CallRecord, status: TraceStatus, error: BaseException | None = None) -> Trace:
    plan = rec.plan
    state = rec.state
    gen = rec.generated
    usage = state.usage or _ZERO
    flags = list(state.flags)
    if rec.coalesced:
        flags.append("coalesced")
    if gen is not None and gen.stale:
        flags.append("stale_cache")
    error_type = error_message = None
    if error is not None:
        if isinstance(error, PromptyardError):
            error_type, error_message = error.code, str(error)
        elif status == "cancelled":
            error_type, error_message = "cancelled", "the caller went away; the provider call was cancelled"
        else:
            error_type, error_message = type(error).__name__, str(error)
    target = plan.target if plan is not None else None
    provider = gen.provider if gen is not None else (target.provider if target else None)
    model = gen.model if gen is not None else (target.model if target else None)
    prompt_chars = plan.prompt_chars if plan is not None else 0
    run = rec.guard_run
    inputs = run.redactor.apply_deep(rec.inputs) if run is not None and run.redactor else rec.inputs
    return _trace(
        trace_id=rec.trace_id,
        timestamp=rec.started,
        kind=rec.kind,
        status=status,
        project=rec.project,
        end_user=rec.ctx.end_user,
        api_key_id=rec.ctx.api_key_id,
        parent_id=rec.ctx.parent_trace_id,
        prompt_name=rec.prompt_name,
        prompt_version=plan.prompt_version if plan is not None else rec.prompt_version,
        prompt_label=rec.prompt_label,
        experiment=rec.experiment,
        experiment_arm=rec.experiment_arm,
        experiment_unit=rec.experiment_unit,
        inputs=inputs,
        prompt_chars=prompt_chars,
        prompt_tokens_estimate=prompt_chars // 4 if plan is not None else None,
        corpus_version=rec.corpus_version,
        provider=provider,
        model=model,
        request_id=gen.request_id if gen is not None else state.request_id,
        stream=rec.stream,
        answer_cache_hit=rec.cache_hit or rec.coalesced or (gen is not None and gen.stale),
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens + usage.cache_write_1h_tokens,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=state.cost_usd,
        cost_saved_usd=(gen.cost_usd if rec.coalesced else gen.saved_usd) if gen is not None else 0.0,
        retries=state.retries,
        fallback_used=gen.fallback_used if gen is not None else state.fallback_used,
        degraded=gen.degraded if gen is not None else state.degraded,
        finish_reason=gen.finish_reason if gen is not None else ("cancelled" if status == "cancelled" else None),
        latency=_latencies(
            generate_ms=state.generate_ms if state.provider_calls or state.generate_ms else None,
            ttft_ms=state.ttft_ms,
            total_ms=rec.elapsed_ms(),
        ),
        error_type=error_type,
        error_message=error_message,
        answer=gen.text if gen is not None else None,
        flags=flags,
        guards=run.trace_verdicts() if run is not None else [],
        config=plan.config if plan is not None else {},
    )
