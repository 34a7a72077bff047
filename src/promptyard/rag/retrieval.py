"""Hybrid retrieval: vector top-k and BM25 top-k, fused (z-score or reciprocal rank), then reranked.

The order is written once, in :meth:`Retriever.search`:

1. embed the vector queries (one batch);
2. vector top-``candidates`` and keyword top-``candidates`` per query (``mode`` picks them);
3. fusion of every list (``fusion``: z-score by default, or RRF with ``rrf_k``; per-list
   weights), see :mod:`promptyard.rag.fusion`;
4. load the text of the survivors (the best ``rerank_candidates`` when reranking); rerank
   them (a failing reranker is skipped, logged, counted and flagged ``rerank_failed``);
5. the best ``k``.

Query transforms (HyDE, multi-query, decomposition) only change which texts go into
steps 1-2: see :mod:`promptyard.rag.transforms`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from promptyard.errors import InvalidInput
from promptyard.rag.embedders.base import Embedder
from promptyard.rag.fusion import fuse
from promptyard.rag.models import Filters, FusionMethod, Hit, SearchMode, SearchResult
from promptyard.rag.rerankers.base import Reranker
from promptyard.rag.stores.base import VectorStore

log = logging.getLogger("promptyard.rag")


class Retriever:
    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        reranker: Reranker,
        *,
        rrf_k: int = 60,
        candidates: int = 200,
        vector_weight: float = 0.45,
        bm25_weight: float = 0.55,
        fusion: FusionMethod = "zscore",
        rerank_candidates: int = 100,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.reranker = reranker
        self.rrf_k = rrf_k
        self.candidates = candidates
        self.vector_weight = vector_weight
        self.bm25_weight = bm25_weight
        self.fusion: FusionMethod = fusion
        self.rerank_candidates = rerank_candidates
        self.rerank_failures = 0

    def search(
        self,
        corpus: str,
        query: str,
        *,
        corpus_version: int,
        k: int = 8,
        mode: SearchMode = "hybrid",
        filters: Filters | None = None,
        candidates: int | None = None,
        vector_weight: float | None = None,
        bm25_weight: float | None = None,
        fusion: FusionMethod | None = None,
        rerank: bool | None = None,
        vector_queries: Sequence[str] | None = None,
        keyword_queries: Sequence[str] | None = None,
    ) -> SearchResult:
        if not query.strip():
            raise InvalidInput("the query is empty", hint="send a question or keywords")
        if k < 1:
            raise InvalidInput(f"k must be at least 1, got {k}")
        n = max(candidates or self.candidates, k)
        vw = self.vector_weight if vector_weight is None else vector_weight
        bw = self.bm25_weight if bm25_weight is None else bm25_weight
        vqs = list(vector_queries or [query])
        kqs = list(keyword_queries or [query])
        result = SearchResult(corpus=corpus, corpus_version=corpus_version, query=query, mode=mode, hits=[])
        lists: list[list[Hit]] = []
        weights: list[float] = []
        if mode in ("hybrid", "vector"):
            t0 = time.perf_counter()
            vectors = self.embedder.embed(vqs, kind="query")
            t1 = time.perf_counter()
            for vec in vectors:
                hits = self.store.vector_search(corpus, vec, n, filters)
                result.vector_candidates.extend(hits)
                lists.append(hits)
                weights.append(vw)
            result.timings_ms["embed_ms"] = (t1 - t0) * 1000
            result.timings_ms["vector_ms"] = (time.perf_counter() - t1) * 1000
        if mode in ("hybrid", "bm25"):
            t0 = time.perf_counter()
            for text in kqs:
                hits = self.store.keyword_search(corpus, text, n, filters)
                result.bm25_candidates.extend(hits)
                lists.append(hits)
                weights.append(bw)
            result.timings_ms["bm25_ms"] = (time.perf_counter() - t0) * 1000
        method = fusion or self.fusion
        fused = lists[0] if len(lists) == 1 else fuse(lists, method=method, weights=weights, rrf_k=self.rrf_k)
        result.fused = fused
        use_rerank = self.reranker.active if rerank is None else (rerank and self.reranker.active)
        survivors = fused[: max(k, min(n, self.rerank_candidates)) if use_rerank else k]
        full = self.store.fetch(corpus, [h.chunk_id for h in survivors])
        ranked = [full[h.chunk_id].model_copy(update={"score": h.score}) for h in survivors if h.chunk_id in full]
        if use_rerank:
            ranked = self._rerank(query, ranked, result)
        result.hits = ranked[:k]
        return result

    def _rerank(self, query: str, hits: list[Hit], result: SearchResult) -> list[Hit]:
        t0 = time.perf_counter()
        try:
            reranked = self.reranker.rerank(query, hits)
        except Exception as exc:  # noqa: BLE001 - any reranker failure degrades to the fused order
            self.rerank_failures += 1
            log.warning(
                "reranker %s failed, using the fused order (degraded): %s: %s",
                self.reranker.name,
                type(exc).__name__,
                exc,
            )
            result.flags.append("rerank_failed")
            return hits
        finally:
            result.timings_ms["rerank_ms"] = (time.perf_counter() - t0) * 1000
        result.reranked = reranked
        return reranked
