"""The default: no reranking, the fused order stands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from promptyard.rag.models import Hit

if TYPE_CHECKING:
    from promptyard.settings import Settings


class NoReranker:
    name = "none"
    active = False

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        return list(hits)

    def close(self) -> None:
        return None


def create(settings: Settings) -> NoReranker:
    return NoReranker()
