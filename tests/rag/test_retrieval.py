"""Hybrid retrieval and its failure behaviour: reranker down, vector store unreachable."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from promptyard.errors import ProviderUnavailable, StoreUnavailable
from promptyard.rag.fusion import rrf, zscore
from promptyard.rag.ingest import ingest_paths
from promptyard.rag.models import ChunkConfig, Filters, Hit
from promptyard.rag.rerankers.none import NoReranker
from promptyard.rag.resilience import RetryingStore
from promptyard.rag.retrieval import Retriever
from promptyard.rag.stores.sqlite import SQLiteStore
from promptyard.testing.fake_embedder import FakeEmbedder


class FlakyStore(SQLiteStore):
    """The real SQLite store whose vector (or keyword) search is unreachable for ``down`` calls."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.vector_down = 0
        self.keyword_down = 0
        self.vector_calls = 0

    def vector_search(self, corpus: str, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
        self.vector_calls += 1
        if self.vector_down:
            self.vector_down -= 1
            raise StoreUnavailable("connection refused")
        return super().vector_search(corpus, vector, k, filters)

    def keyword_search(self, corpus: str, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        if self.keyword_down:
            self.keyword_down -= 1
            raise StoreUnavailable("connection refused")
        return super().keyword_search(corpus, query, k, filters)


class ReverseReranker:
    name = "reverse"
    active = True

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        if self.fail:
            raise self.fail
        return [h.model_copy(update={"score": float(i)}) for i, h in enumerate(reversed(hits))]

    def close(self) -> None:
        return None


@pytest.fixture
def flaky(tmp_path: Path, pets_dir: Path) -> FlakyStore:
    store = FlakyStore(tmp_path / "rag.db")
    ingest_paths([pets_dir], "pets", store=store, embedder=FakeEmbedder(), chunking=ChunkConfig(chunk_tokens=20))
    return store


def _retriever(store: FlakyStore, reranker: object = None, sleeps: list[float] | None = None) -> Retriever:
    wrapped = RetryingStore(store, retries=3, base_s=0.1, sleep=(sleeps if sleeps is not None else []).append)
    return Retriever(wrapped, FakeEmbedder(), reranker or NoReranker(), candidates=20)  # type: ignore[arg-type]


def test_hybrid_search_returns_full_hits(flaky: FlakyStore) -> None:
    res = _retriever(flaky).search("pets", "Which pets purr when content?", corpus_version=1, k=3)
    assert res.hits[0].doc_id.endswith("cats.md")
    assert res.hits[0].text
    assert res.hits[0].title == "Cats"
    assert res.vector_candidates
    assert res.bm25_candidates
    assert res.fused
    assert res.flags == []


def test_modes_and_filters(flaky: FlakyStore) -> None:
    r = _retriever(flaky)
    bm25 = r.search("pets", "parrots", corpus_version=1, k=5, mode="bm25")
    assert [h.doc_id.rsplit("/", 1)[-1] for h in bm25.hits] == ["birds.html"]
    assert not bm25.vector_candidates
    vec = r.search("pets", "parrots", corpus_version=1, k=2, mode="vector")
    assert len(vec.hits) == 2
    assert not vec.bm25_candidates
    only_dogs = r.search("pets", "animals", corpus_version=1, k=5, filters={"type": "text"})
    assert {h.doc_id.rsplit("/", 1)[-1] for h in only_dogs.hits} == {"dogs.txt"}


def test_reranker_applies(flaky: FlakyStore) -> None:
    plain = _retriever(flaky).search("pets", "cats purr", corpus_version=1, k=20)
    res = _retriever(flaky, ReverseReranker()).search("pets", "cats purr", corpus_version=1, k=20)
    assert [h.chunk_id for h in res.hits] == [h.chunk_id for h in reversed(plain.hits)]
    assert res.reranked
    assert "rerank_failed" not in res.flags


def test_reranker_failure_keeps_fused_order_and_flags(flaky: FlakyStore, caplog: pytest.LogCaptureFixture) -> None:
    plain = _retriever(flaky).search("pets", "cats purr", corpus_version=1, k=5)
    r = _retriever(flaky, ReverseReranker(fail=ProviderUnavailable("rerank API down")))
    with caplog.at_level(logging.WARNING, logger="promptyard.rag"):
        res = r.search("pets", "cats purr", corpus_version=1, k=5)
    assert [h.chunk_id for h in res.hits] == [h.chunk_id for h in plain.hits]
    assert res.flags == ["rerank_failed"]
    assert r.rerank_failures == 1
    assert "degraded" in caplog.text
    assert "rerank API down" in caplog.text


def test_store_unreachable_is_retried_with_backoff(flaky: FlakyStore) -> None:
    sleeps: list[float] = []
    flaky.vector_down = 2
    res = _retriever(flaky, sleeps=sleeps).search("pets", "dogs", corpus_version=1, k=3)
    assert res.hits
    assert sleeps == [0.1, 0.2]


def test_store_down_after_three_retries_is_store_unavailable(flaky: FlakyStore) -> None:
    sleeps: list[float] = []
    flaky.vector_down = 10
    with pytest.raises(StoreUnavailable, match="after 4 attempts"):
        _retriever(flaky, sleeps=sleeps).search("pets", "dogs", corpus_version=1, k=3)
    assert sleeps == [0.1, 0.2, 0.4]
    assert flaky.vector_calls == 4


def test_never_silently_keyword_only(flaky: FlakyStore) -> None:
    """Keyword search works, vectors do not: the request fails instead of answering from BM25 alone."""
    flaky.vector_down = 100
    with pytest.raises(StoreUnavailable):
        _retriever(flaky, sleeps=[]).search("pets", "dogs", corpus_version=1, k=3)
    flaky.vector_down, flaky.keyword_down = 0, 100
    with pytest.raises(StoreUnavailable):
        _retriever(flaky, sleeps=[]).search("pets", "dogs", corpus_version=1, k=3)


def test_store_unavailable_maps_to_503() -> None:
    from promptyard.server.errors import status_for

    assert status_for(StoreUnavailable("down")) == 503


class CountingReranker(ReverseReranker):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        self.seen.append(len(hits))
        return super().rerank(query, hits)


def test_fusion_method_from_settings_and_request(flaky: FlakyStore) -> None:
    wrapped = RetryingStore(flaky, retries=0, base_s=0.0, sleep=[].append)
    z = Retriever(wrapped, FakeEmbedder(), NoReranker(), candidates=20)
    r = Retriever(wrapped, FakeEmbedder(), NoReranker(), candidates=20, fusion="rrf", vector_weight=1, bm25_weight=1)
    query = "Which pets purr when content?"
    by_z = z.search("pets", query, corpus_version=1, k=20)
    by_rrf = r.search("pets", query, corpus_version=1, k=20)
    lists = [by_z.vector_candidates, by_z.bm25_candidates]
    assert [h.chunk_id for h in by_z.fused] == [h.chunk_id for h in zscore(lists, weights=[0.45, 0.55])]
    assert [h.chunk_id for h in by_rrf.fused] == [h.chunk_id for h in rrf(lists, k=60)]
    override = z.search("pets", query, corpus_version=1, k=20, fusion="rrf", vector_weight=1, bm25_weight=1)
    assert [h.score for h in override.fused] == pytest.approx([h.score for h in by_rrf.fused])


def test_rerank_pool_is_capped(flaky: FlakyStore) -> None:
    wrapped = RetryingStore(flaky, retries=0, base_s=0.0, sleep=[].append)
    counting = CountingReranker()
    r = Retriever(wrapped, FakeEmbedder(), counting, candidates=20, rerank_candidates=2)  # type: ignore[arg-type]
    assert len(r.search("pets", "cats purr", corpus_version=1, k=1).fused) == 4  # the pets corpus has 4 chunks
    r.search("pets", "cats purr", corpus_version=1, k=3)  # asking for more than the pool reranks k
    assert counting.seen == [2, 3]
