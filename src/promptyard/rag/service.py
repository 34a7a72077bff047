"""The RAG facade the CLI and the HTTP API share: corpora, ingest, search, cited answers.

One :class:`RagService` per runtime (``runtime.rag``). Every search and answer leaves a
``kind="rag"`` trace with the transform and its outputs, every candidate list, the
context chunk ids, the corpus version, the answer, its citations and flags; the
gateway's own traces of the transform and answer calls point at it as their parent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from promptyard.errors import NotFound, PromptyardError, ProviderTimeout
from promptyard.gateway.base import CallContext, GatewayAPI, PromptCall
from promptyard.prompts.model import ContextConfig
from promptyard.prompts.refs import split_ref
from promptyard.rag.citations import ABSTENTION, SNIPPET_CHARS, check_answer
from promptyard.rag.context import answer_variables, build_context, whole_corpus_context
from promptyard.rag.embedders.base import Embedder
from promptyard.rag.ingest import IngestProgress, IngestReport, ingest_paths
from promptyard.rag.models import (
    AnswerRequest,
    ChunkConfig,
    Citation,
    ContextDocument,
    CorpusInfo,
    Hit,
    RagAnswer,
    SearchRequest,
    SearchResult,
)
from promptyard.rag.rerankers.base import Reranker
from promptyard.rag.retrieval import Retriever
from promptyard.rag.sentences import trim_to_sentences
from promptyard.rag.stores.base import VectorStore
from promptyard.rag.transforms import TransformOutput, run_transform
from promptyard.settings import Settings
from promptyard.tracing.model import Candidate, StageLatencies, Trace, TraceRecorder, new_trace_id

if TYPE_CHECKING:
    from promptyard.gateway.pipeline import PromptSource
    from promptyard.prompts.refs import Ref

log = logging.getLogger("promptyard.rag")

TIMEOUT_MESSAGE = "No answer was generated in time; here are the retrieved sources."
NO_DOCUMENTS_MESSAGE = "Nothing in the corpus matched the question."


def candidates(hits: Sequence[Hit]) -> list[Candidate]:
    """Hits as trace candidates (chunk id, doc id, score)."""
    return [Candidate(chunk_id=h.chunk_id, doc_id=h.doc_id, score=h.score) for h in hits]


def _sources(docs: Sequence[ContextDocument]) -> list[Citation]:
    out = []
    for d in docs:
        text = " ".join(d.text.split())
        snippet = text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"
        out.append(Citation(id=d.id, title=d.title, source=d.source, snippet=snippet))
    return out


class RagService:
    def __init__(
        self,
        settings: Settings,
        *,
        store: VectorStore,
        embedder: Embedder,
        reranker: Reranker,
        tracer: TraceRecorder,
        gateway: Callable[[], GatewayAPI] | None = None,
        prompts: Callable[[], PromptSource] | None = None,
    ) -> None:
        self.settings = settings
        self.prompts = prompts
        """The registry the answer prompt's ``context`` trimming is read from (unset: whole passages)."""
        self.store = store
        self.embedder = embedder
        self.reranker = reranker
        self.tracer = tracer
        self._gateway = gateway
        self.retriever = Retriever(
            store,
            embedder,
            reranker,
            rrf_k=settings.rrf_k,
            candidates=settings.rag_candidates,
            vector_weight=settings.rag_vector_weight,
            bm25_weight=settings.rag_bm25_weight,
            fusion=settings.rag_fusion,
            rerank_candidates=settings.rag_rerank_candidates,
        )

    @property
    def gateway(self) -> GatewayAPI:
        if self._gateway is None:
            raise NotFound("no gateway is configured for answers and query transforms")
        return self._gateway()

    # -- corpora -------------------------------------------------------------------------
    def corpora(self) -> list[CorpusInfo]:
        return self.store.list_corpora()

    def corpus(self, name: str) -> CorpusInfo:
        """The corpus, or NotFound naming the corpora that exist."""
        info = self.store.get_corpus(name)
        if info is None:
            names = [c.name for c in self.store.list_corpora()]
            hint = None if names else "no corpus yet: create one with 'promptyard ingest PATH --corpus NAME'"
            raise NotFound(f"no corpus named {name!r}", available=names, hint=hint)
        return info

    def delete_corpus(self, name: str) -> None:
        self.corpus(name)
        self.store.delete_corpus(name)

    def ingest(
        self,
        paths: Sequence[Path],
        corpus: str,
        *,
        chunk_tokens: int | None = None,
        chunk_overlap: float | None = None,
        replace: bool = False,
        progress: IngestProgress | None = None,
    ) -> IngestReport:
        """Sync files into a corpus (created on first use). Chunking: arguments > the corpus's > settings."""
        existing = self.store.get_corpus(corpus)
        base = (
            existing.chunking
            if existing
            else ChunkConfig(chunk_tokens=self.settings.chunk_tokens, chunk_overlap=self.settings.chunk_overlap)
        )
        chunking = ChunkConfig(
            chunk_tokens=chunk_tokens if chunk_tokens is not None else base.chunk_tokens,
            chunk_overlap=chunk_overlap if chunk_overlap is not None else base.chunk_overlap,
        )
        report = ingest_paths(
            paths, corpus, store=self.store, embedder=self.embedder, chunking=chunking, replace=replace,
            progress=progress,
        )  # fmt: skip
        if self.settings.guards_ingest and (report.added or report.updated):
            from promptyard.guards.ingest import scan_chunks

            scan_chunks(self, corpus, set(report.added) | set(report.updated))
        return report

    # -- search --------------------------------------------------------------------------
    def _search_sync(self, req: SearchRequest, info: CorpusInfo, transform: TransformOutput | None) -> SearchResult:
        result = self.retriever.search(
            req.corpus,
            req.query,
            corpus_version=info.version,
            k=req.k,
            mode=req.mode,
            filters=req.filters,
            candidates=req.candidates,
            vector_weight=req.vector_weight,
            bm25_weight=req.bm25_weight,
            fusion=req.fusion,
            rerank=req.rerank,
            vector_queries=transform.vector_queries if transform else None,
            keyword_queries=transform.keyword_queries if transform else None,
        )
        if transform is not None:
            result.transform = transform.name
            result.transform_outputs = transform.outputs
        return result

    def search(self, req: SearchRequest) -> SearchResult:
        """Synchronous search without a query transform (benchmarks, scripts)."""
        return self._search_sync(req, self.corpus(req.corpus), None)

    async def _transform(self, req: SearchRequest, info: CorpusInfo, parent: str) -> TransformOutput | None:
        if req.transform == "none":
            return None
        return await run_transform(
            req.transform,
            req.query,
            gateway=self.gateway,
            ref=self.settings.rag_transform_label,
            corpus_version=info.version,
            parent_trace_id=parent,
        )

    async def asearch(self, req: SearchRequest, *, trace: Trace | None = None) -> SearchResult:
        own = trace is None
        trace = trace or self._new_trace(req.corpus, req.query)
        started = time.perf_counter()
        try:
            info = await asyncio.to_thread(self.corpus, req.corpus)
            trace.corpus_version = info.version
            t0 = time.perf_counter()
            transform_flags: list[str] = []
            try:
                transform = await self._transform(req, info, trace.trace_id)
            except PromptyardError as exc:
                log.warning("query transform %s failed, searching the plain query (degraded): %s", req.transform, exc)
                transform, transform_flags = None, ["transform_failed"]
            if req.transform != "none":
                trace.latency.transform_ms = (time.perf_counter() - t0) * 1000
            result = await asyncio.to_thread(self._search_sync, req, info, transform)
            result.flags = [*transform_flags, *result.flags]
            if transform is None and req.transform != "none":
                result.transform = req.transform
        except BaseException as exc:
            if own:
                self._finish(trace, started, error=exc)
            raise
        self._fill_trace(trace, result)
        trace.config.update(req.model_dump(exclude={"query", "corpus"}, exclude_none=True))
        if own:
            self._finish(trace, started)
        return result

    # -- answers -------------------------------------------------------------------------
    async def _context(
        self, req: AnswerRequest, info: CorpusInfo, trace: Trace
    ) -> tuple[list[ContextDocument], list[str]]:
        budget = self.settings.context_token_budget
        if info.tokens <= budget and req.transform == "none" and not req.filters:
            chunks = await asyncio.to_thread(self.store.all_chunks, req.corpus, limit=max(info.chunks, 1))
            docs = whole_corpus_context(chunks)
            if docs:
                return docs, ["whole_corpus"]
        sreq = SearchRequest(
            corpus=req.corpus, query=req.question, k=req.k, filters=req.filters, rerank=req.rerank,
            transform=req.transform,
        )  # fmt: skip
        result = await self.asearch(sreq, trace=trace)
        return build_context(result.hits, budget=budget), list(result.flags)

    def _cosines(self, question: str, sentences: Sequence[str]) -> npt.NDArray[np.float32]:
        vectors = np.asarray(self.embedder.embed(list(sentences), kind="document"), dtype=np.float32)
        query = np.asarray(self.embedder.embed([question], kind="query"), dtype=np.float32)[0]
        scores: npt.NDArray[np.float32] = vectors @ query
        return scores

    def _context_config(self, ref: Ref) -> ContextConfig | None:
        """How to trim the context: ``PROMPTYARD_RAG_CONTEXT_SENTENCES`` set non-zero, else the answer
        prompt's ``context`` block, else None (whole passages)."""
        s = self.settings
        if s.rag_context_sentences > 0:
            return ContextConfig(
                sentences=s.rag_context_sentences, sentences_total=s.rag_context_sentences_total,
                ranking=s.rag_context_sentence_ranking,
            )  # fmt: skip
        if self.prompts is None or (ref.version is None and ref.label is None):
            return None  # a bare name: the gateway call names the problem
        # The version the label points at (a split on the label may still pick another arm later).
        return self.prompts().resolve(ref.name, version=ref.version, label=ref.label).context

    def _trim(self, docs: list[ContextDocument], question: str, ref: Ref) -> list[ContextDocument]:
        config = self._context_config(ref) if docs else None
        if config is None:
            return docs
        return trim_to_sentences(
            docs, question, config.sentences, ranking=config.ranking, embed=self._cosines, total=config.sentences_total
        )

    async def answer(self, req: AnswerRequest) -> RagAnswer:
        trace = self._new_trace(req.corpus, req.question)
        trace.end_user = req.end_user
        started = time.perf_counter()
        try:
            out = await self._answer(req, trace)
        except BaseException as exc:
            self._finish(trace, started, error=exc)
            raise
        trace.answer = out.answer
        trace.flags = list(out.flags)
        self._finish(trace, started)
        out.trace_id = trace.trace_id
        return out

    async def _answer(self, req: AnswerRequest, trace: Trace) -> RagAnswer:
        info = await asyncio.to_thread(self.corpus, req.corpus)
        trace.corpus_version = info.version
        docs, flags = await self._context(req, info, trace)
        ref = split_ref(req.prompt or self.settings.rag_answer_prompt)
        docs = await asyncio.to_thread(self._trim, docs, req.question, ref)
        trace.context_chunk_ids = [c for d in docs for c in d.chunk_ids]
        sources = _sources(docs)
        base = RagAnswer(answer=None, corpus=req.corpus, corpus_version=info.version, sources=sources, flags=flags)
        if not docs:
            return base.model_copy(update={"answer": ABSTENTION, "message": NO_DOCUMENTS_MESSAGE,
                                           "flags": [*flags, "no_documents", "abstained"]})  # fmt: skip
        call = PromptCall(
            name=ref.name,
            version=ref.version,
            label=ref.label if ref.version is None else None,
            variables=answer_variables(req.question, docs),
            corpus_version=info.version,
            context=CallContext(parent_trace_id=trace.trace_id, tenant=req.tenant, end_user=req.end_user),
        )
        trace.prompt_name, trace.prompt_version, trace.prompt_label = ref.name, ref.version, ref.label
        timeout = req.timeout_s or self.settings.rag_answer_timeout_s
        t0 = time.perf_counter()
        try:
            result = await asyncio.wait_for(self.gateway.run(call), timeout=timeout)
        except (TimeoutError, ProviderTimeout) as exc:
            log.warning("rag answer on %s timed out after %.1fs: %s", req.corpus, time.perf_counter() - t0, exc)
            trace.latency.generate_ms = (time.perf_counter() - t0) * 1000
            return base.model_copy(update={"message": TIMEOUT_MESSAGE, "flags": [*flags, "generation_timeout"]})
        trace.latency.generate_ms = (time.perf_counter() - t0) * 1000
        trace.provider, trace.model, trace.cost_usd = result.provider, result.model, result.cost_usd
        trace.input_tokens, trace.output_tokens = result.usage.input_tokens, result.usage.output_tokens
        checked = check_answer(result.text, docs)
        trace.citations = checked.records
        return base.model_copy(
            update={"answer": checked.text, "citations": checked.citations, "flags": [*flags, *checked.flags],
                    "prompt": result.prompt}
        )  # fmt: skip

    # -- traces --------------------------------------------------------------------------
    def _new_trace(self, corpus: str, query: str) -> Trace:
        return Trace(trace_id=new_trace_id(), kind="rag", project=self.settings.project, corpus=corpus, query=query)

    @staticmethod
    def _fill_trace(trace: Trace, result: SearchResult) -> None:
        trace.transform = result.transform
        trace.transform_outputs = list(result.transform_outputs)
        trace.vector_candidates = candidates(result.vector_candidates)
        trace.bm25_candidates = candidates(result.bm25_candidates)
        trace.fused = candidates(result.fused[: max(len(result.hits), 100)])
        trace.reranked = candidates(result.reranked)
        trace.context_chunk_ids = [h.chunk_id for h in result.hits]
        trace.flags = list(result.flags)
        trace.degraded = "rerank_failed" in result.flags
        t = result.timings_ms
        trace.latency = StageLatencies(
            embed_ms=t.get("embed_ms"), vector_ms=t.get("vector_ms"), bm25_ms=t.get("bm25_ms"),
            rerank_ms=t.get("rerank_ms"), transform_ms=trace.latency.transform_ms,
        )  # fmt: skip

    def _finish(self, trace: Trace, started: float, *, error: BaseException | None = None) -> None:
        trace.latency.total_ms = (time.perf_counter() - started) * 1000
        if error is not None:
            trace.status = "cancelled" if isinstance(error, asyncio.CancelledError) else "error"
            trace.error_type = type(error).__name__
            trace.error_message = str(error)[:500]
        self.tracer.record(trace)

    def close(self) -> None:
        self.store.close()
        self.embedder.close()
        self.reranker.close()


def build_rag(
    settings: Settings,
    *,
    tracer: TraceRecorder,
    gateway: Callable[[], GatewayAPI] | None = None,
    prompts: Callable[[], PromptSource] | None = None,
) -> RagService:
    """The service from settings: the configured store (with retries), embedder and reranker."""
    from promptyard.rag.embedders.base import create_embedder
    from promptyard.rag.rerankers.base import create_reranker
    from promptyard.rag.resilience import RetryingStore
    from promptyard.rag.stores.base import create_store

    store = RetryingStore(
        create_store(settings.vector_store, settings),
        retries=settings.rag_store_retries,
        base_s=settings.rag_store_retry_base_s,
    )
    return RagService(
        settings,
        store=store,
        embedder=create_embedder(settings.embedder, settings),
        reranker=create_reranker(settings.reranker, settings),
        tracer=tracer,
        gateway=gateway,
        prompts=prompts,
    )
