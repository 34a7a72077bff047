"""Replay: re-run the pipeline that produced a trace and compare old and new.

Same prompt version (never the label: labels move), same model configuration, same
inputs; the answer cache is bypassed so the provider really runs again. For a RAG trace
the retrieval runs again with the same corpus version and retrieval parameters (from
``trace.config``), and the retrieved chunk ids are compared with the original ones.
Redacted traces cannot be replayed: their inputs are gone.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, Field

from promptyard.chat import ChatMessage
from promptyard.errors import InvalidInput, PromptyardError
from promptyard.gateway.base import CallContext, ChatCall, GatewayAPI, GatewayResult, PromptCall
from promptyard.providers.base import ResponseFormat
from promptyard.tracing.model import Trace


class RagReplayer(Protocol):
    """What RAG offers replay: run a traced RAG request again, pinned to the same corpus version."""

    async def replay(self, trace: Trace) -> Trace:
        """Re-run retrieval and generation as recorded in ``trace``; returns the new trace."""
        ...


class ReplayResult(BaseModel):
    original: Trace
    new_trace_id: str | None = None
    new_answer: str | None = None
    new_error: str | None = None
    new_model: str | None = None
    new_cost_usd: float = 0.0
    original_chunk_ids: list[str] = Field(default_factory=list)
    new_chunk_ids: list[str] | None = None
    """``None`` when the trace had no retrieval."""

    @property
    def same_answer(self) -> bool:
        return self.new_error is None and self.new_answer == self.original.answer

    @property
    def same_chunks(self) -> bool | None:
        if self.new_chunk_ids is None:
            return None
        return self.new_chunk_ids == self.original_chunk_ids


def _check(trace: Trace) -> None:
    if "redacted" in trace.flags:
        raise InvalidInput(
            f"trace {trace.trace_id} was redacted (PROMPTYARD_TRACE_REDACT); its inputs cannot be replayed"
        )
    if trace.kind in ("transform", "judge", "eval") and trace.parent_id:
        raise InvalidInput(
            f"trace {trace.trace_id} is a {trace.kind} sub-call", hint=f"replay its request {trace.parent_id} instead"
        )


def _context(trace: Trace) -> CallContext:
    return CallContext(project=trace.project, end_user=trace.end_user, bypass_cache=True)


def prompt_call(trace: Trace) -> PromptCall:
    if not trace.prompt_name or not trace.prompt_version:
        raise InvalidInput(f"trace {trace.trace_id} names no prompt version to replay")
    cfg = trace.config
    return PromptCall(
        name=trace.prompt_name,
        version=trace.prompt_version,
        variables=dict(trace.inputs or {}),
        corpus_version=trace.corpus_version,
        temperature=cfg.get("temperature"),
        max_tokens=cfg.get("max_tokens"),
        context=_context(trace),
    )


def chat_call(trace: Trace) -> ChatCall:
    cfg = trace.config
    messages: Any = (trace.inputs or {}).get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidInput(f"trace {trace.trace_id} holds no chat messages to replay")
    provider, model = cfg.get("provider") or trace.provider, cfg.get("model") or trace.model
    if not provider or not model:
        raise InvalidInput(f"trace {trace.trace_id} names no provider/model to replay")
    rf = cfg.get("response_format")
    return ChatCall(
        model=f"{provider}/{model}",
        messages=[ChatMessage.model_validate(m) for m in messages],
        temperature=cfg.get("temperature"),
        max_tokens=cfg.get("max_tokens"),
        top_p=cfg.get("top_p"),
        stop=list(cfg.get("stop") or []),
        seed=cfg.get("seed"),
        response_format=ResponseFormat.model_validate(rf) if rf else None,
        context=_context(trace),
    )


async def replay(trace: Trace, gateway: GatewayAPI, rag: RagReplayer | None = None) -> ReplayResult:
    """Run ``trace`` again. Provider failures are reported in the result, not raised."""
    _check(trace)
    result = ReplayResult(original=trace, original_chunk_ids=list(trace.context_chunk_ids))
    if trace.kind == "rag":
        if rag is None:
            raise InvalidInput(f"trace {trace.trace_id} is a RAG trace, but RAG is not available here")
        try:
            new = await rag.replay(trace)
        except PromptyardError as exc:
            result.new_error = f"{exc.code}: {exc}"
            return result
        result.new_chunk_ids = list(new.context_chunk_ids)
        result.new_trace_id, result.new_answer = new.trace_id, new.answer
        result.new_model, result.new_cost_usd = new.model, new.cost_usd
        result.new_error = f"{new.error_type}: {new.error_message}" if new.status == "error" else None
        return result
    try:
        if trace.kind == "chat":
            out: GatewayResult = await gateway.chat(chat_call(trace))
        else:
            out = await gateway.run(prompt_call(trace))
    except InvalidInput:
        raise
    except PromptyardError as exc:
        result.new_error = f"{exc.code}: {exc}"
        return result
    result.new_trace_id, result.new_answer = out.trace_id, out.text
    result.new_model, result.new_cost_usd = out.model, out.cost_usd
    return result
