"""Retries around a vector store: an unreachable store is retried with exponential backoff.

Only :class:`StoreUnavailable` is retried (three times by default, 0.2 s, 0.4 s, 0.8 s);
after the last try it propagates and the API answers 503. Retrieval never drops to
keyword-only search when vectors are unavailable: both come from the store, and a failed
vector search fails the request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from promptyard.errors import StoreUnavailable
from promptyard.rag.models import ChunkConfig, CorpusInfo, DocumentUpdate, Filters, Hit
from promptyard.rag.stores.base import VectorStore

log = logging.getLogger("promptyard.rag")
T = TypeVar("T")


class RetryingStore:
    """A :class:`VectorStore` that retries reads on :class:`StoreUnavailable`. Counts every retry."""

    def __init__(
        self,
        inner: VectorStore,
        *,
        retries: int = 3,
        base_s: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.retries = retries
        self.base_s = base_s
        self.sleep = sleep
        self.retry_count = 0
        self.unavailable_count = 0

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except StoreUnavailable as exc:
                if attempt == self.retries:
                    self.unavailable_count += 1
                    log.error("vector store %s unavailable after %d tries (%s): %s", self.name, attempt + 1, what, exc)
                    raise StoreUnavailable(
                        f"vector store unavailable after {attempt + 1} attempts: {exc.message}",
                        hint="try again shortly; check the store (PROMPTYARD_VECTOR_STORE) is up",
                    ) from exc
                delay = self.base_s * (2**attempt)
                self.retry_count += 1
                log.warning("vector store %s unavailable (%s), retry %d in %.2fs", self.name, what, attempt + 1, delay)
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def list_corpora(self) -> list[CorpusInfo]:
        return self._call("list", self.inner.list_corpora)

    def get_corpus(self, name: str) -> CorpusInfo | None:
        return self._call("get", lambda: self.inner.get_corpus(name))

    def create_corpus(self, name: str, *, embedder: str, dim: int, chunking: ChunkConfig) -> CorpusInfo:
        return self.inner.create_corpus(name, embedder=embedder, dim=dim, chunking=chunking)

    def delete_corpus(self, name: str) -> None:
        self.inner.delete_corpus(name)

    def document_hashes(self, corpus: str) -> dict[str, tuple[str, str]]:
        return self._call("hashes", lambda: self.inner.document_hashes(corpus))

    def apply(
        self,
        corpus: str,
        *,
        upserts: Sequence[DocumentUpdate] = (),
        deletes: Sequence[str] = (),
        chunking: ChunkConfig | None = None,
    ) -> CorpusInfo:
        return self.inner.apply(corpus, upserts=upserts, deletes=deletes, chunking=chunking)

    def vector_search(
        self, corpus: str, vector: npt.NDArray[np.float32], k: int, filters: Filters | None = None
    ) -> list[Hit]:
        return self._call("vector search", lambda: self.inner.vector_search(corpus, vector, k, filters))

    def keyword_search(self, corpus: str, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        return self._call("keyword search", lambda: self.inner.keyword_search(corpus, query, k, filters))

    def fetch(self, corpus: str, chunk_ids: Sequence[str]) -> dict[str, Hit]:
        return self._call("fetch", lambda: self.inner.fetch(corpus, chunk_ids))

    def all_chunks(self, corpus: str, *, limit: int) -> list[Hit]:
        return self._call("all chunks", lambda: self.inner.all_chunks(corpus, limit=limit))

    def close(self) -> None:
        self.inner.close()
