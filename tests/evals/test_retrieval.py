"""Retrieval metrics (ranx) against hand-computed values and a textbook reference implementation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptyard.evals.retrieval import item_retrieval_metrics, metric_names, retrieval_metrics

QRELS: dict[str, dict[str, int]] = {
    "q1": {"d1": 1, "d3": 1},
    "q2": {"d9": 1},
    "q3": {"d7": 1},
    "q4": {"dA": 2, "dB": 1},
}
RUN: dict[str, list[str]] = {
    "q1": ["d1", "d2", "d3", "d4"],
    "q2": ["d5", "d6", "d9"],
    "q3": [],
    "q4": ["dB", "dA"],
}
# Hand-computed (trec_eval conventions: linear gain, log2(rank + 1) discount).
EXPECTED = {
    "q1": {"recall@2": 0.5, "recall@5": 1.0, "hit_rate@2": 1.0, "mrr": 1.0, "ndcg@5": 1.5 / (1 + 1 / math.log2(3))},
    "q2": {"recall@2": 0.0, "recall@5": 1.0, "hit_rate@2": 0.0, "mrr": 1 / 3, "ndcg@5": 0.5},
    "q3": {"recall@2": 0.0, "recall@5": 0.0, "hit_rate@2": 0.0, "mrr": 0.0, "ndcg@5": 0.0},
    "q4": {
        "recall@2": 1.0,
        "recall@5": 1.0,
        "hit_rate@2": 1.0,
        "mrr": 1.0,
        "ndcg@5": (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)),
    },
}


def test_ranx_metrics_match_hand_computed_values() -> None:
    got = retrieval_metrics(QRELS, RUN, ks=(2, 5))
    assert set(got) == set(QRELS)
    for qid, expected in EXPECTED.items():
        for name, value in expected.items():
            assert got[qid][name] == pytest.approx(value, abs=1e-9), (qid, name)
    assert set(got["q1"]) == set(metric_names((2, 5)))


def test_repeated_documents_count_once_at_their_best_rank() -> None:
    # Several chunks of d1 retrieved: the ranking is d1, d2, d3.
    got = item_retrieval_metrics(["d3"], ["d1", "d1", "d2", "d1", "d3"], ks=[3])
    assert got["mrr"] == pytest.approx(1 / 3)
    assert got["recall@3"] == 1.0


def test_items_without_judgments_or_retrieval_are_not_scored() -> None:
    assert set(item_retrieval_metrics([], ["d1"], ks=[5]).values()) == {None}
    assert set(item_retrieval_metrics(["d1"], None, ks=[5]).values()) == {None}
    assert retrieval_metrics({"q": []}, {"q": ["d1"]}) == {}


def _reference(relevant: set[str], ranking: list[str], k: int) -> dict[str, float]:
    """Textbook binary-relevance definitions, written independently of ranx."""
    seen: list[str] = []
    for d in ranking:
        if d not in seen:
            seen.append(d)
    top = seen[:k]
    hits = [d in relevant for d in top]
    dcg = sum(1 / math.log2(i + 2) for i, h in enumerate(hits) if h)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    first = next((i for i, d in enumerate(seen) if d in relevant), None)
    return {
        f"recall@{k}": sum(hits) / len(relevant),
        f"ndcg@{k}": dcg / idcg,
        f"hit_rate@{k}": float(any(hits)),
        "mrr": 0.0 if first is None else 1 / (first + 1),
    }


DOCS = [f"d{i}" for i in range(12)]


@settings(max_examples=60, deadline=None)
@given(
    st.sets(st.sampled_from(DOCS), min_size=1, max_size=4),
    st.lists(st.sampled_from(DOCS), max_size=15),
    st.integers(min_value=1, max_value=10),
)
def test_ranx_agrees_with_reference_definitions(relevant: set[str], ranking: list[str], k: int) -> None:
    got = item_retrieval_metrics(sorted(relevant), ranking, ks=[k])
    for name, value in _reference(relevant, ranking, k).items():
        assert got[name] == pytest.approx(value, abs=1e-9), name


def test_concurrent_evaluations_from_threads_are_safe() -> None:
    """ranx's parallel kernels abort the process if two threads launch them at once; we serialize."""
    from concurrent.futures import ThreadPoolExecutor

    def one(n: int) -> float:
        ranking = [f"doc-{n}-{i}" for i in range(30)] + [f"gold-{n}"]
        return item_retrieval_metrics([f"gold-{n}"], ranking, ks=[5])["mrr"] or 0.0

    with ThreadPoolExecutor(max_workers=8) as pool:
        values = list(pool.map(one, range(64)))
    assert values == [pytest.approx(1 / 31)] * 64
