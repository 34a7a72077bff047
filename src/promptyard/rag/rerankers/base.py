"""The reranker seam: reorder candidate chunks for a query.

Adapters (one per file: ``none``, ``cross-encoder``, ``http``) come from the
``promptyard.rerankers`` entry points. A reranker raises on failure; the retriever then
keeps the fused order, logs the degradation and flags the response (``rerank_failed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from promptyard import plugins
from promptyard.rag.models import Hit

if TYPE_CHECKING:
    from promptyard.settings import Settings

GROUP = "promptyard.rerankers"


@runtime_checkable
class Reranker(Protocol):
    name: str
    active: bool
    """False for ``none``: the retriever skips the stage."""

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        """``hits`` (which carry their text) reordered best first, ``score`` set to the reranker's."""
        ...

    def close(self) -> None: ...


def apply_scores(hits: Sequence[Hit], scores: Sequence[float]) -> list[Hit]:
    """Hits with the given scores, best first (stable for equal scores)."""
    scored = [h.model_copy(update={"score": float(s)}) for h, s in zip(hits, scores, strict=True)]
    return sorted(scored, key=lambda h: -h.score)


def create_reranker(name: str, settings: Settings) -> Reranker:
    reranker: Reranker = plugins.get(GROUP, name)(settings)
    return reranker
