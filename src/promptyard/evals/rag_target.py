"""The RAG target: each item's question answered over a corpus by the RAG service.

The answer goes through :meth:`RagService.answer` (retrieval, context building, the
prompt through the gateway, citation checks), exactly as in production. To score it the
target also needs what the answer record leaves out, so the service it uses shares the
runtime's store, embedder and reranker but is given two thin wrappers:

* a tracer that keeps the ``kind="rag"`` trace of each answer (the ranked candidates for
  retrieval metrics, every citation with its validity, total latency) and passes every
  trace on to the real recorder;
* a gateway that keeps the :class:`GatewayResult` of each answer call (tokens, cost,
  cache hit) and turns the answer cache off when the run asks for that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from promptyard.errors import InvalidInput, ProviderTimeout
from promptyard.evals.model import CallFn, Citation, DatasetItem, ModelAnswer
from promptyard.evals.retrieval import dedupe_ranking
from promptyard.gateway.base import ChatCall, GatewayAPI, GatewayResult, GatewayStream, PromptCall
from promptyard.prompts.model import PromptSpec
from promptyard.tracing.model import Trace, TraceRecorder

if TYPE_CHECKING:
    from promptyard.rag.service import RagService

#: Variables of the answer prompt that the RAG service fills itself.
RAG_PROVIDED = {"documents"}


class KeepRagTraces:
    """A TraceRecorder that remembers ``rag`` traces by id and forwards everything."""

    def __init__(self, inner: TraceRecorder) -> None:
        self._inner = inner
        self._kept: dict[str, Trace] = {}

    def record(self, trace: Trace) -> None:
        if trace.kind == "rag":
            self._kept[trace.trace_id] = trace
        self._inner.record(trace)

    def pop(self, trace_id: str | None) -> Trace | None:
        return self._kept.pop(trace_id, None) if trace_id else None


class KeepResults:
    """A GatewayAPI that remembers each prompt result by its parent trace id."""

    def __init__(self, inner: GatewayAPI, *, use_cache: bool) -> None:
        self._inner = inner
        self._use_cache = use_cache
        self._kept: dict[str, GatewayResult] = {}

    async def run(self, call: PromptCall) -> GatewayResult:
        if not self._use_cache:
            call = call.model_copy(update={"context": call.context.model_copy(update={"bypass_cache": True})})
        result = await self._inner.run(call)
        if call.context.parent_trace_id:
            self._kept[call.context.parent_trace_id] = result
        return result

    async def chat(self, call: ChatCall) -> GatewayResult:
        return await self._inner.chat(call)

    def run_stream(self, call: PromptCall) -> GatewayStream:
        return self._inner.run_stream(call)

    def chat_stream(self, call: ChatCall) -> GatewayStream:
        return self._inner.chat_stream(call)

    def pop(self, trace_id: str | None) -> GatewayResult | None:
        return self._kept.pop(trace_id, None) if trace_id else None


def ranked_doc_ids(trace: Trace | None) -> list[str] | None:
    """Documents in retrieval order (reranked, else fused), each at its best chunk's rank."""
    if trace is None:
        return None
    ranked = trace.reranked or trace.fused
    if not ranked:
        return None
    return dedupe_ranking([c.doc_id for c in ranked])


def rag_target(rag: RagService, spec: PromptSpec, corpus: str, top_k: int | None, use_cache: bool) -> CallFn:
    """Answer each item's ``question`` over ``corpus`` with the prompt ``spec``."""
    from promptyard.rag.models import AnswerRequest
    from promptyard.rag.service import RagService

    rag.corpus(corpus)  # NotFound (naming the corpora) before any model is called
    traces = KeepRagTraces(rag.tracer)
    results = KeepResults(rag.gateway, use_cache=use_cache)
    service = RagService(
        rag.settings,
        store=rag.store,
        embedder=rag.embedder,
        reranker=rag.reranker,
        tracer=traces,
        gateway=lambda: results,
        prompts=rag.prompts,
    )
    k = top_k or rag.settings.rag_top_k

    async def call(item: DatasetItem) -> ModelAnswer:
        question = item.inputs.get("question")
        if not isinstance(question, str):
            raise InvalidInput(f"item {item.item_id!r} has no 'question' string for the RAG target")
        out = await service.answer(AnswerRequest(corpus=corpus, question=question, k=k, prompt=spec.ref))
        trace = traces.pop(out.trace_id)
        result = results.pop(out.trace_id)
        if out.answer is None:
            raise ProviderTimeout(out.message or "no answer was generated in time", provider="rag")
        citations = [Citation(doc_id=c.doc_id, valid=c.valid) for c in trace.citations] if trace else None
        return ModelAnswer(
            text=out.answer,
            parsed=result.parsed if result else None,
            retrieved_doc_ids=ranked_doc_ids(trace),
            context_doc_ids=[s.id for s in out.sources],
            citations=citations,
            abstained="abstained" in out.flags,
            flags=list(out.flags),
            input_tokens=result.usage.input_tokens if result else 0,
            output_tokens=result.usage.output_tokens if result else 0,
            cost_usd=result.cost_usd if result else 0.0,
            latency_ms=trace.latency.total_ms if trace else (result.latency_ms if result else 0.0),
            cache_hit=result.cache_hit if result else False,
            trace_id=out.trace_id,
            provider=result.provider if result else None,
            model=result.model if result else None,
        )

    return call
