"""Replaying a RAG trace: the same retrieval, pinned, then the same prompt version.

Retrieval runs again on the trace's corpus with the parameters it recorded
(``trace.config``: k, mode, filters, candidates, weights, fusion, rerank). A query transform is
**not** asked again: its recorded outputs (``transform_outputs``, e.g. the HyDE
hypothetical) are reused, so the retrieval is the same deterministic computation and
retrieves the same chunk ids as long as the corpus is unchanged (a changed corpus version
is reported in the new trace's flags). The answer, when the trace had one, is generated
again with the same prompt version (resolved from the gateway sub-call when a label was
used) from the rebuilt context, through the gateway, with the answer cache bypassed.
The replay records a new ``kind="rag"`` trace flagged ``replay``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from promptyard.errors import InvalidInput
from promptyard.gateway.base import CallContext, GatewayAPI, PromptCall
from promptyard.tracing.model import StageLatencies, Trace, new_trace_id

if TYPE_CHECKING:
    from promptyard.rag.models import ContextDocument, SearchResult
    from promptyard.rag.service import RagService

_SEARCH_KEYS = ("k", "mode", "filters", "candidates", "vector_weight", "bm25_weight", "fusion", "rerank")


def pinned_queries(trace: Trace) -> tuple[list[str], list[str]] | None:
    """The vector and keyword queries the recorded transform produced (``None``: no transform)."""
    if not trace.transform or trace.transform == "none":
        return None
    from promptyard.rag.transforms import route_queries

    return route_queries(trace.transform, trace.query or "", list(trace.transform_outputs))


class RagReplayer:
    """Implements :class:`promptyard.tracing.replay.RagReplayer` on ``runtime.rag``."""

    def __init__(
        self,
        rag: RagService,
        gateway: GatewayAPI,
        *,
        version_of: Callable[[Trace], str | None] = lambda t: t.prompt_version,
    ) -> None:
        self.rag = rag
        self.gateway = gateway
        self.version_of = version_of

    async def replay(self, trace: Trace) -> Trace:
        if not trace.corpus or not trace.query:
            raise InvalidInput(f"trace {trace.trace_id} names no corpus or query to replay")
        started = time.perf_counter()
        info = await asyncio.to_thread(self.rag.corpus, trace.corpus)
        new = Trace(
            trace_id=new_trace_id(), kind="rag", project=trace.project, corpus=trace.corpus, query=trace.query,
            corpus_version=info.version, end_user=trace.end_user, transform=trace.transform,
            transform_outputs=list(trace.transform_outputs), config=dict(trace.config), flags=["replay"],
        )  # fmt: skip
        if trace.corpus_version is not None and info.version != trace.corpus_version:
            new.flags.append(f"corpus_changed:{trace.corpus_version}->{info.version}")
        docs = await asyncio.to_thread(self._retrieve, trace, new, info.version)
        if trace.prompt_name:  # an answer trace: generate again from the rebuilt context
            await self._generate(trace, new, docs, info.version)
        new.latency.total_ms = (time.perf_counter() - started) * 1000
        self.rag.tracer.record(new)
        return new

    def _retrieve(self, trace: Trace, new: Trace, version: int) -> list[ContextDocument]:
        from promptyard.rag.context import build_context, whole_corpus_context
        from promptyard.rag.service import candidates

        if "whole_corpus" in trace.flags:
            chunks = self.rag.store.all_chunks(trace.corpus or "", limit=1_000_000)
            docs = whole_corpus_context(chunks)
            new.context_chunk_ids = [c for d in docs for c in d.chunk_ids]
            new.flags.append("whole_corpus")
            return docs
        params: dict[str, Any] = {k: trace.config[k] for k in _SEARCH_KEYS if trace.config.get(k) is not None}
        queries = pinned_queries(trace)
        result: SearchResult = self.rag.retriever.search(
            trace.corpus or "",
            trace.query or "",
            corpus_version=version,
            vector_queries=queries[0] if queries else None,
            keyword_queries=queries[1] if queries else None,
            **params,
        )
        new.vector_candidates = candidates(result.vector_candidates)
        new.bm25_candidates = candidates(result.bm25_candidates)
        new.fused = candidates(result.fused[: max(len(result.hits), 100)])
        new.reranked = candidates(result.reranked)
        t = result.timings_ms
        new.latency = StageLatencies(
            embed_ms=t.get("embed_ms"), vector_ms=t.get("vector_ms"), bm25_ms=t.get("bm25_ms"),
            rerank_ms=t.get("rerank_ms"),
        )  # fmt: skip
        if not trace.prompt_name:  # a search trace: its context is the hits
            new.context_chunk_ids = [h.chunk_id for h in result.hits]
            return []
        docs = build_context(result.hits, budget=self.rag.settings.context_token_budget)
        new.context_chunk_ids = [c for d in docs for c in d.chunk_ids]
        return docs

    async def _generate(self, trace: Trace, new: Trace, docs: list[ContextDocument], version: int) -> None:
        from promptyard.rag.citations import check_answer
        from promptyard.rag.context import answer_variables

        prompt_version = self.version_of(trace)
        if not prompt_version:
            raise InvalidInput(
                f"trace {trace.trace_id} used prompt {trace.prompt_name}@{trace.prompt_label} and the version it "
                "resolved to is not recorded",
                hint="its gateway sub-call trace may have been purged",
            )
        new.prompt_name, new.prompt_version = trace.prompt_name, prompt_version
        if not docs:
            new.answer = trace.answer if "no_documents" in trace.flags else None
            return
        call = PromptCall(
            name=trace.prompt_name or "",
            version=prompt_version,
            variables=answer_variables(trace.query or "", docs),
            corpus_version=version,
            context=CallContext(project=trace.project, end_user=trace.end_user, bypass_cache=True,
                                parent_trace_id=new.trace_id),
        )  # fmt: skip
        t0 = time.perf_counter()
        result = await self.gateway.run(call)
        new.latency.generate_ms = (time.perf_counter() - t0) * 1000
        checked = check_answer(result.text, docs)
        new.answer, new.citations = checked.text, checked.records
        new.flags.extend(checked.flags)
        new.provider, new.model, new.cost_usd = result.provider, result.model, result.cost_usd
        new.input_tokens, new.output_tokens = result.usage.input_tokens, result.usage.output_tokens
