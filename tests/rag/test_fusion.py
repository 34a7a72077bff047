"""Reciprocal rank fusion checked against ranx's implementation and a reference computation."""

from __future__ import annotations

import random

import pytest

from promptyard.errors import InvalidInput
from promptyard.rag.fusion import rrf
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
