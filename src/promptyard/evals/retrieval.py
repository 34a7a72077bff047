"""Retrieval metrics (Recall@k, nDCG@k, MRR, hit rate@k) computed with ``ranx``.

ranx is a maintained IR evaluation library (numba-compiled, checked against trec_eval);
we only build its qrels and run from dataset items and retrieved document ids. Ranks
become strictly decreasing scores so ties can never reorder a ranking. A document id
retrieved several times (several chunks of one document) counts once, at its best rank.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping, Sequence

#: ranx's numba kernels run in parallel with the workqueue threading layer, which aborts the
#: process when two threads launch kernels at once: one evaluation at a time.
_RANX_LOCK = threading.Lock()

#: Names of the metrics produced for each cut-off ``k`` (plus ``mrr``).
CUTOFF_METRICS = ("recall", "ndcg", "hit_rate")


def metric_names(ks: Sequence[int]) -> list[str]:
    return [f"{m}@{k}" for k in ks for m in CUTOFF_METRICS] + ["mrr"]


def dedupe_ranking(doc_ids: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for doc_id in doc_ids:
        seen.setdefault(doc_id, None)
    return list(seen)


def retrieval_metrics(
    qrels: Mapping[str, Sequence[str] | Mapping[str, int]],
    runs: Mapping[str, Sequence[str]],
    ks: Sequence[int] = (5, 10),
) -> dict[str, dict[str, float]]:
    """Per-query metrics: ``{query_id: {"recall@5": ..., "ndcg@5": ..., "mrr": ...}}``.

    ``qrels`` maps a query id to its relevant document ids (relevance 1) or to
    ``{doc_id: relevance}``; ``runs`` maps a query id to its ranked document ids. Queries
    without relevant documents are left out (the metrics are undefined for them).
    """
    from ranx import Qrels, Run, evaluate

    judged: dict[str, dict[str, int]] = {}
    for qid, rel in qrels.items():
        graded = dict(rel) if isinstance(rel, Mapping) else dict.fromkeys(rel, 1)
        graded = {d: int(r) for d, r in graded.items() if int(r) > 0}
        if graded:
            judged[qid] = graded
    if not judged:
        return {}
    names = metric_names(ks)
    # ranx stores ids as fixed-width unicode, and numba compiles its kernels once per width:
    # fixed-width surrogate ids keep it to one (disk-cached) compilation whatever the ids are.
    doc_key: dict[str, str] = {}

    def key(doc_id: str) -> str:
        return doc_key.setdefault(doc_id, f"{len(doc_key):012d}")

    run_dict: dict[str, dict[str, float]] = {}
    qrels_dict: dict[str, dict[str, int]] = {}
    query_key: dict[str, str] = {}
    out: dict[str, dict[str, float]] = {}
    for qid, graded in judged.items():
        ranking = dedupe_ranking(runs.get(qid, ()))
        if not ranking:
            out[qid] = dict.fromkeys(names, 0.0)  # nothing retrieved: every metric is 0 by definition
            continue
        q = query_key[qid] = f"{len(query_key):012d}"
        qrels_dict[q] = {key(d): r for d, r in graded.items()}
        run_dict[q] = {key(doc): float(len(ranking) - i) for i, doc in enumerate(ranking)}
    if run_dict:
        with _RANX_LOCK, warnings.catch_warnings():
            ranx_run = Run(run_dict)
            # numba warns about an internal uint64 cast; harmless for our sizes.
            warnings.simplefilter("ignore")
            evaluate(Qrels(qrels_dict), ranx_run, names, return_mean=False)
        scores = ranx_run.scores
        out |= {qid: {name: float(scores[name][q]) for name in names} for qid, q in query_key.items()}
    return {qid: out[qid] for qid in judged}


def item_retrieval_metrics(
    expected_doc_ids: Sequence[str], retrieved_doc_ids: Sequence[str] | None, ks: Sequence[int]
) -> dict[str, float | None]:
    """Metrics for one item; every value is ``None`` when the item has no relevant ids or no retrieval."""
    names = metric_names(ks)
    if not expected_doc_ids or retrieved_doc_ids is None:
        return dict.fromkeys(names)
    result = retrieval_metrics({"q": expected_doc_ids}, {"q": retrieved_doc_ids}, ks)
    return dict(result["q"])
