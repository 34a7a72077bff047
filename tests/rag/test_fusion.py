"""Fusion: reciprocal rank fusion checked against ranx and a reference computation, z-score fusion against numpy."""

from __future__ import annotations

import random

import numpy as np
import pytest

from promptyard.errors import InvalidInput
from promptyard.rag.fusion import fuse, rrf, zscore
from promptyard.rag.models import Hit


def _hits(ids: list[str]) -> list[Hit]:
    return [Hit(chunk_id=i, doc_id=i.split("#")[0], score=float(len(ids) - n)) for n, i in enumerate(ids)]


def reference(lists: list[list[str]], k: int, weights: list[float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for ranking, w in zip(lists, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            out[item] = out.get(item, 0.0) + w / (k + rank)
    return out


@pytest.mark.slow  # ranx compiles its numba kernels on first use (~25 s)
@pytest.mark.parametrize("seed", range(3))
def test_matches_ranx_rrf(seed: int) -> None:
    from ranx import Run, fuse

    rng = random.Random(seed)
    pool = [f"d{i}#0" for i in range(60)]
    lists = [rng.sample(pool, 30), rng.sample(pool, 25), rng.sample(pool, 40)]
    ours = rrf([_hits(x) for x in lists], k=60)
    runs = [Run({"q": {d: float(len(x) - n) for n, d in enumerate(x)}}) for x in lists]
    theirs = fuse(runs=runs, norm=None, method="rrf", params={"k": 60}).to_dict()["q"]
    assert {h.chunk_id: h.score for h in ours} == pytest.approx(theirs)
    assert [h.score for h in ours] == sorted((h.score for h in ours), reverse=True)


def test_weighted_matches_reference() -> None:
    lists = [["a#0", "b#0", "c#0"], ["c#0", "d#0"], ["d#0", "a#0"]]
    weights = [1.0, 0.5, 2.0]
    ours = rrf([_hits(x) for x in lists], k=10, weights=weights)
    assert {h.chunk_id: h.score for h in ours} == pytest.approx(reference(lists, 10, weights))


def test_ties_are_deterministic_and_metadata_kept() -> None:
    a = [Hit(chunk_id="x#0", doc_id="x", score=9, text="x text"), Hit(chunk_id="y#0", doc_id="y", score=1)]
    b = [Hit(chunk_id="y#0", doc_id="y", score=5), Hit(chunk_id="x#0", doc_id="x", score=1)]
    fused = rrf([a, b])
    assert [h.chunk_id for h in fused] == ["x#0", "y#0"]
    assert fused[0].text == "x text"


def test_bad_weights() -> None:
    with pytest.raises(InvalidInput):
        rrf([_hits(["a#0"])], weights=[1.0, 2.0])
    with pytest.raises(InvalidInput):
        rrf([_hits(["a#0"])], weights=[-1.0])


# -- z-score fusion -------------------------------------------------------------------------
def _scored(pairs: list[tuple[str, float]]) -> list[Hit]:
    return [Hit(chunk_id=c, doc_id=c.split("#")[0], score=s) for c, s in pairs]


def z_reference(lists: list[list[tuple[str, float]]], weights: list[float]) -> dict[str, float]:
    """Standardize each list with numpy (population std); missing items take the list's lowest z minus 1."""
    items = {c for pairs in lists for c, _ in pairs}
    out = dict.fromkeys(items, 0.0)
    for pairs, w in zip(lists, weights, strict=True):
        values = np.array([s for _, s in pairs])
        z = (values - values.mean()) / values.std()
        by_id = dict(zip([c for c, _ in pairs], z, strict=True))
        for c in items:
            out[c] += w * float(by_id.get(c, z.min() - 1.0))
    return out


def test_zscore_matches_numpy_reference() -> None:
    rng = random.Random(7)
    pool = [f"d{i}#0" for i in range(40)]
    lists = [[(c, rng.uniform(0, 1)) for c in rng.sample(pool, 25)] for _ in range(2)]
    lists.append([(c, rng.uniform(-30, -5)) for c in rng.sample(pool, 10)])  # a different scale (negative scores)
    lists = [sorted(x, key=lambda p: -p[1]) for x in lists]
    weights = [0.45, 0.55, 1.5]
    ours = zscore([_scored(x) for x in lists], weights=weights)
    assert {h.chunk_id: h.score for h in ours} == pytest.approx(z_reference(lists, weights))
    assert [h.score for h in ours] == sorted((h.score for h in ours), reverse=True)


def test_zscore_keeps_score_gaps_that_ranks_lose() -> None:
    """b is a close second in BM25 and far ahead in vectors: z-score fusion puts it first, RRF ties it."""
    bm25 = _scored([("a#0", 10.0), ("b#0", 9.9), ("c#0", 1.0), ("d#0", 0.9)])
    vec = _scored([("b#0", 0.9), ("a#0", 0.2), ("c#0", 0.19), ("d#0", 0.18)])
    assert [h.chunk_id for h in zscore([bm25, vec])][:2] == ["b#0", "a#0"]
    fused = rrf([bm25, vec])
    assert fused[0].score == pytest.approx(fused[1].score)


def test_zscore_missing_items_get_the_lists_floor_and_weights_scale() -> None:
    a = _scored([("x#0", 3.0), ("y#0", 1.0)])  # z: x +1, y -1, absent -2
    b = _scored([("z#0", 5.0)])  # one item: std 0, z 0 (no division by zero), absent -1
    fused = {h.chunk_id: h.score for h in zscore([a, b], weights=[2.0, 1.0])}
    assert fused == pytest.approx({"x#0": 2.0 - 1.0, "y#0": -2.0 - 1.0, "z#0": -4.0 + 0.0})
    only_a = zscore([a, b], weights=[1.0, 0.0])
    assert only_a[0].chunk_id == "x#0"


def test_zscore_empty_list_duplicates_and_bad_scores() -> None:
    a = _scored([("x#0", 3.0), ("x#0", 0.0), ("y#0", 1.0)])  # a duplicate counts once, at its first position
    assert {h.chunk_id: h.score for h in zscore([a, []])} == pytest.approx({"x#0": 1.0, "y#0": -1.0})
    # vectors: p z 0.84, q 0.56, r -1.40; keywords: only q (z 0, absent -1): q 0.56 beats p -0.16
    one_hit = zscore([_scored([("p#0", 0.9), ("q#0", 0.8), ("r#0", 0.1)]), _scored([("q#0", 7.0)])])
    assert [h.chunk_id for h in one_hit] == ["q#0", "p#0", "r#0"]
    assert zscore([[], []]) == []
    with pytest.raises(InvalidInput):
        zscore([_scored([("x#0", float("-inf"))])])
    with pytest.raises(InvalidInput):
        zscore([a], weights=[1.0, 1.0])


def test_fuse_dispatches() -> None:
    lists = [_scored([("a#0", 2.0), ("b#0", 1.0)]), _scored([("b#0", 0.5), ("a#0", 0.4)])]
    assert fuse(lists, method="rrf", rrf_k=10) == rrf(lists, k=10)
    assert fuse(lists, method="zscore", weights=[1.0, 2.0]) == zscore(lists, weights=[1.0, 2.0])
