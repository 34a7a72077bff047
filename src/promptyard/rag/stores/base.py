"""The vector store seam: corpora, atomic document updates, vector and keyword search.

A store keeps everything about a corpus (its version, documents, chunks, vectors and
keyword index) so one transaction can change a corpus: :meth:`VectorStore.apply` either
lands completely, with the version bumped once, or not at all. Adapters (one per file:
``sqlite`` embedded, ``pgvector`` for Postgres) are found through the
``promptyard.vector_stores`` entry points and all pass one contract suite,
:mod:`promptyard.testing.store_contract`.

Errors: an adapter raises :class:`StoreUnavailable` when it cannot reach its database
(the retrieval layer retries those) and :class:`StoreError` for everything else.
Searches return light hits (id, document id, score); :meth:`VectorStore.fetch` loads the
text of the few that survive fusion.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from promptyard import plugins
from promptyard.errors import InvalidInput
from promptyard.rag.models import ChunkConfig, CorpusInfo, DocumentUpdate, Filters, Hit

if TYPE_CHECKING:
    from promptyard.settings import Settings

GROUP = "promptyard.vector_stores"

#: Columns a filter may name directly; any other key is looked up in the document metadata.
FILTER_COLUMNS = ("doc_id", "source", "title")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@runtime_checkable
class VectorStore(Protocol):
    name: str

    def list_corpora(self) -> list[CorpusInfo]: ...

    def get_corpus(self, name: str) -> CorpusInfo | None: ...

    def create_corpus(self, name: str, *, embedder: str, dim: int, chunking: ChunkConfig) -> CorpusInfo:
        """A new empty corpus at version 0; StoreError if it exists."""
        ...

    def delete_corpus(self, name: str) -> None: ...

    def document_hashes(self, corpus: str) -> dict[str, tuple[str, str]]:
        """``doc_id -> (content_hash, source)`` of every document in the corpus."""
        ...

    def apply(
        self,
        corpus: str,
        *,
        upserts: Sequence[DocumentUpdate] = (),
        deletes: Sequence[str] = (),
        chunking: ChunkConfig | None = None,
    ) -> CorpusInfo:
        """Replace ``upserts`` (whole documents), remove ``deletes``, in one transaction.

        The version goes up by exactly one when anything changed, and not at all otherwise.
        """
        ...

    def vector_search(
        self, corpus: str, vector: npt.NDArray[np.float32], k: int, filters: Filters | None = None
    ) -> list[Hit]:
        """The ``k`` chunks closest to ``vector`` (cosine similarity), best first."""
        ...

    def keyword_search(self, corpus: str, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        """The ``k`` best keyword matches. ``query`` is plain text: operators are never syntax."""
        ...

    def fetch(self, corpus: str, chunk_ids: Sequence[str]) -> dict[str, Hit]:
        """Full chunks (text, title, offsets, ...) by id; unknown ids are left out."""
        ...

    def all_chunks(self, corpus: str, *, limit: int) -> list[Hit]:
        """Up to ``limit`` chunks in document order (whole-corpus context)."""
        ...

    def close(self) -> None: ...


def create_store(name: str, settings: Settings) -> VectorStore:
    store: VectorStore = plugins.get(GROUP, name)(settings)
    return store


def check_corpus_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput(
            f"invalid corpus name {name!r}",
            hint="use 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit",
        )
    return name


def check_filters(filters: Filters | None) -> list[tuple[str, list[object]]]:
    """``[(key, allowed values)]``; InvalidInput for a key that could not be a metadata name."""
    out: list[tuple[str, list[object]]] = []
    for key, value in (filters or {}).items():
        if not _KEY.match(key):
            raise InvalidInput(f"invalid filter key {key!r}", hint="letters, digits, '_', '-', '.'")
        values: list[object] = list(value) if isinstance(value, list) else [value]
        if not values:
            raise InvalidInput(f"filter {key!r} has an empty list of values")
        out.append((key, values))
    return out


def top_k(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.intp]:
    """Indices of the ``k`` highest scores, best first (ties broken by position)."""
    if k <= 0 or scores.size == 0:
        return np.zeros(0, dtype=np.intp)
    if k >= scores.size:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    order: npt.NDArray[np.intp] = part[np.lexsort((part, -scores[part]))]
    return order
