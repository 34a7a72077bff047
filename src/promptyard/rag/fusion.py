"""Reciprocal rank fusion: ``score(d) = sum_i w_i / (k + rank_i(d))``, ranks from 1.

Documents missing from a list contribute nothing for it. Ties are broken by the best
rank the item reached in any list, then by id, so the order is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence

from promptyard.errors import InvalidInput
from promptyard.rag.models import Hit


def rrf(lists: Sequence[Sequence[Hit]], *, k: int = 60, weights: Sequence[float] | None = None) -> list[Hit]:
    if weights is None:
        weights = [1.0] * len(lists)
    if len(weights) != len(lists):
        raise InvalidInput(f"{len(weights)} fusion weights for {len(lists)} result lists")
    if k < 0 or any(w < 0 for w in weights):
        raise InvalidInput("fusion k and weights must not be negative")
    scores: dict[str, float] = {}
    best: dict[str, int] = {}
    first: dict[str, Hit] = {}
    for hits, weight in zip(lists, weights, strict=True):
        seen: set[str] = set()
        for rank, hit in enumerate(hits, start=1):
            if hit.chunk_id in seen:
                continue
            seen.add(hit.chunk_id)
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + weight / (k + rank)
            best[hit.chunk_id] = min(best.get(hit.chunk_id, rank), rank)
            first.setdefault(hit.chunk_id, hit)
    order = sorted(scores, key=lambda cid: (-scores[cid], best[cid], cid))
    return [first[cid].model_copy(update={"score": scores[cid]}) for cid in order]
