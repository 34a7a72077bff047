"""Choosing hybrid-retrieval settings on SciFact by 5-fold cross-validation over the queries.

    .venv/bin/python bench/retrieval_tuning.py --corpus ../shared/data/scifact

The corpus is ingested once with the real code and the settings (default: MiniLM int8,
300-token chunks read to 208 tokens; ``PROMPTYARD_CHUNK_TOKENS`` and
``PROMPTYARD_EMBEDDING_READ_TOKENS`` change them, one ``--cache`` per variant) into
``--cache`` (reused on later runs; the ingest's docs/s is printed); each query is embedded alone, as a search
does, and its BM25 list comes from the store's own ``keyword_search``. Every candidate is
then scored offline in NumPy, so a grid of a few hundred settings takes seconds.

How a candidate is scored, the same way ``RagService.search`` ranks: the vector and BM25
lists are cut to ``depth`` chunks each, fused chunk by chunk, and a document ranks by its
best chunk (what ``bench/retrieval.py`` evaluates). Metrics: nDCG@10 and Recall@100 over
the 809 train queries with qrels, checked against ranx once per run.

Cross-validation: the queries are split into 5 folds by a fixed seed. For each fold, the
setting with the best mean nDCG@10 on the other 4 folds (among settings whose Recall@100
there is at least 0.95) is scored on the held-out fold; "CV" is the mean of the 5 held-out
figures. "full" is the best setting chosen on all queries (optimistic, for reference).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from promptyard.rag.fusion import MISSING_GAP
from retrieval import DEFAULT_CORPUS, ROOT, load_beir  # type: ignore[import-not-found]

Arr = npt.NDArray[np.float64]
Params = tuple[object, ...]
Table = dict[Params, tuple[Arr, Arr]]
FOLDS, SEED, BM25_DEPTH = 5, 15, 1000


class Lab:
    """Dense [queries x chunks] score matrices and the metrics on them."""

    def __init__(self, folder: Path, cache: Path) -> None:
        _corpus, queries, qrels = load_beir(folder)
        build_cache(folder, cache, queries)
        meta = json.loads((cache / "meta.json").read_text())
        self.qids: list[str] = meta["qids"]
        self.docids: list[str] = meta["docids"]
        self.qrels = qrels
        doc_of = {d: i for i, d in enumerate(self.docids)}
        self.cdoc = np.array([doc_of[d] for d in meta["chunk_docs"]])
        self.cvec = np.load(cache / "chunk_vectors.npy")
        self.qvec = np.load(cache / "query_vectors.npy")
        self.vec = (self.qvec @ self.cvec.T).astype(np.float64)
        self.bm25 = np.load(cache / "bm25.npy").astype(np.float64)  # -inf: not in the top 1000
        nq, nd = len(self.qids), len(self.docids)
        self.rel = np.zeros((nq, nd), dtype=bool)
        for qi, q in enumerate(self.qids):
            for d in qrels[q]:
                self.rel[qi, doc_of[d]] = True
        self.nrel = self.rel.sum(1)
        self.disc = 1.0 / np.log2(np.arange(2, 12))
        self.idcg = np.array([self.disc[: min(n, 10)].sum() for n in self.nrel])
        self.order = np.argsort(self.cdoc, kind="stable")
        self.starts = np.r_[0, np.flatnonzero(np.diff(self.cdoc[self.order])) + 1]
        self.folds = np.random.default_rng(SEED).permutation(nq) % FOLDS

    def doc_max(self, chunk_scores: Arr) -> Arr:
        return np.maximum.reduceat(chunk_scores[:, self.order], self.starts, axis=1)

    def metrics(self, chunk_scores: Arr) -> tuple[Arr, Arr]:
        """Per-query nDCG@10 and Recall@100 of documents ranked by their best chunk (-inf: not retrieved)."""
        docs = self.doc_max(chunk_scores)
        top = topk(docs, 100)
        found = np.take_along_axis(self.rel, top, 1) & np.isfinite(np.take_along_axis(docs, top, 1))
        ndcg = (found[:, :10] * self.disc).sum(1) / self.idcg
        return ndcg, found.sum(1) / self.nrel

    def cut(self, scores: Arr, depth: int) -> Arr:
        """Keep each query's top ``depth`` chunks (what the store returns), -inf elsewhere."""
        out = np.full_like(scores, -np.inf)
        idx = topk(scores, depth)
        np.put_along_axis(out, idx, np.take_along_axis(scores, idx, 1), 1)
        return out

    def check_against_ranx(self) -> None:
        from retrieval import evaluate  # type: ignore[import-not-found]

        docs = self.doc_max(self.cut(self.vec, 100))
        top = topk(docs, 100)
        run = {
            q: {self.docids[d]: float(docs[i, d]) for d in top[i] if np.isfinite(docs[i, d])}
            for i, q in enumerate(self.qids)
        }
        ours, rec = self.metrics(self.cut(self.vec, 100))
        theirs = evaluate(self.qrels, run)
        assert abs(theirs["ndcg@10"] - ours.mean()) < 1e-9, (theirs, ours.mean())
        assert abs(theirs["recall@100"] - rec.mean()) < 1e-9, (theirs, rec.mean())


def topk(m: Arr, k: int) -> npt.NDArray[np.intp]:
    k = min(k, m.shape[1])
    idx = np.argpartition(-m, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(m, idx, 1), axis=1, kind="stable")
    return np.take_along_axis(idx, order, 1)


# -- fusion of dense lists (same formulas as promptyard.rag.fusion) ---------------------------
def ranks(m: Arr) -> Arr:
    order = np.argsort(-m, axis=1, kind="stable")
    r = np.empty(m.shape, dtype=np.float64)
    np.put_along_axis(r, order, np.broadcast_to(np.arange(1, m.shape[1] + 1, dtype=np.float64), m.shape), 1)
    r[~np.isfinite(m)] = np.inf
    return r


def rrf(lists: list[Arr], weights: list[float], k: float) -> Arr:
    out = sum(np.where(np.isfinite(r), w / (k + r), 0.0) for r, w in zip(map(ranks, lists), weights, strict=True))
    assert isinstance(out, np.ndarray)
    present = np.logical_or.reduce([np.isfinite(m) for m in lists])
    return np.where(present, out, -np.inf)


def standardize(m: Arr, how: str) -> Arr:
    """Per query over the list's items: z-score (missing: the lowest z - MISSING_GAP) or min-max (missing: 0)."""
    finite = np.isfinite(m)
    x = np.where(finite, m, np.nan)
    lo, hi = np.nanmin(x, 1, keepdims=True), np.nanmax(x, 1, keepdims=True)
    if how == "z":
        mu, sd = np.nanmean(x, 1, keepdims=True), np.nanstd(x, 1, keepdims=True)
        sd = np.where(sd > 0, sd, 1.0)
        return np.where(finite, (m - mu) / sd, (lo - mu) / sd - MISSING_GAP)
    return np.where(finite, (m - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0)


def score_fusion(vec: Arr, bm25: Arr, alpha: float, how: str) -> Arr:
    present = np.isfinite(vec) | np.isfinite(bm25)
    fused = alpha * standardize(vec, how) + (1 - alpha) * standardize(bm25, how)
    return np.where(present, fused, -np.inf)


# -- cross-validation ---------------------------------------------------------------------------
def cross_validate(lab: Lab, table: Table) -> dict[str, object]:
    keys = list(table)
    ndcg = np.stack([table[k][0] for k in keys])
    rec = np.stack([table[k][1] for k in keys])
    held, held_rec, picks = [], [], []
    for f in range(FOLDS):
        train = lab.folds != f
        score = ndcg[:, train].mean(1)
        ok = rec[:, train].mean(1) >= 0.95
        b = int(np.argmax(np.where(ok, score, -1.0) if ok.any() else score))
        picks.append(keys[b])
        held.append(ndcg[b, ~train].mean())
        held_rec.append(rec[b, ~train].mean())
    best = int(np.argmax(ndcg.mean(1)))
    return {"cv": float(np.mean(held)), "cv_rec": float(np.mean(held_rec)), "picks": picks,
            "full": keys[best], "full_ndcg": float(ndcg[best].mean()), "full_rec": float(rec[best].mean())}  # fmt: skip


def families(lab: Lab) -> dict[str, Callable[[], Table]]:
    v, b = lab.vec, lab.bm25
    alphas = [round(float(a), 2) for a in np.arange(0.3, 0.71, 0.05)]

    def rrf_family(depths: tuple[int, ...], ks: tuple[int, ...], ws: tuple[float, ...]) -> Table:
        return {(k, w, d): lab.metrics(rrf([lab.cut(v, d), lab.cut(b, d)], [w, 1.0], k))
                for d, k, w in itertools.product(depths, ks, ws)}  # fmt: skip

    def fusion_family(how: str, depths: tuple[int, ...]) -> Table:
        return {(a, d): lab.metrics(score_fusion(lab.cut(v, d), lab.cut(b, d), a, how))
                for d, a in itertools.product(depths, alphas)}  # fmt: skip

    def prf_family() -> Table:
        """Rocchio on the query vector: q + beta * centroid of the top-m documents of the z-score fusion."""
        first = lab.doc_max(score_fusion(lab.cut(v, 200), lab.cut(b, 200), 0.45, "z"))
        sums = np.zeros((len(lab.docids), lab.cvec.shape[1]))
        np.add.at(sums, lab.cdoc, lab.cvec)
        centroids = sums / np.linalg.norm(sums, axis=1, keepdims=True)
        out: Table = {}
        for m, beta in itertools.product((1, 3, 5, 10), (0.25, 0.5, 1.0)):
            q = lab.qvec + beta * centroids[topk(first, m)].mean(1)
            q /= np.linalg.norm(q, axis=1, keepdims=True)
            v2 = q @ lab.cvec.T
            for a in (0.4, 0.45, 0.5, 0.55):
                out[(m, beta, a)] = lab.metrics(score_fusion(lab.cut(v2, 200), lab.cut(b, 200), a, "z"))
        return out

    def z(alpha: float, depth: int) -> tuple[Arr, Arr]:
        return lab.metrics(score_fusion(lab.cut(v, depth), lab.cut(b, depth), alpha, "z"))

    old = rrf([lab.cut(v, 100), lab.cut(b, 100)], [1.0, 1.0], 60)
    rrf_grid = ((100, 200, 300), (5, 10, 20, 30, 60, 100), (0.5, 0.7, 0.85, 1.0, 1.2, 1.4, 2.0))
    return {
        "bm25 alone (FTS5, Porter)": lambda: {(): lab.metrics(b)},
        "vector alone (MiniLM int8)": lambda: {(): lab.metrics(lab.cut(v, 1000))},
        "old default: RRF k=60, 1/1, depth 100": lambda: {(60, 1.0, 100): lab.metrics(old)},
        "RRF: k x vector weight x depth": lambda: rrf_family(*rrf_grid),
        "min-max fusion: alpha x depth": lambda: fusion_family("minmax", (100, 200, 300, 500)),
        "z-score fusion: alpha x depth": lambda: fusion_family("z", (100, 200, 300, 500)),
        "z-score fusion, depth 100: alpha": lambda: fusion_family("z", (100,)),
        "z-score fusion, depth 200: alpha": lambda: fusion_family("z", (200,)),
        "new default: z-score, 0.45, depth 200": lambda: {(0.45, 200): z(0.45, 200)},
        "z-score + vector PRF (m, beta, alpha)": prf_family,
    }


# -- the cache ----------------------------------------------------------------------------------
def build_cache(folder: Path, cache: Path, queries: dict[str, str]) -> None:
    if (cache / "meta.json").is_file():
        return
    from promptyard.rag.embedders.base import create_embedder
    from promptyard.rag.ingest import ingest_paths
    from promptyard.rag.models import ChunkConfig
    from promptyard.rag.stores.sqlite import SQLiteStore
    from promptyard.settings import Settings

    cache.mkdir(parents=True, exist_ok=True)
    settings = Settings(home=ROOT / ".promptyard", rag_db_path=cache / "rag.db")
    embedder = create_embedder(settings.embedder, settings)
    embedder.embed(["warm up: load (and on the very first run export) the model"])
    store = SQLiteStore(cache / "rag.db")
    if store.get_corpus("scifact") is None:
        chunking = ChunkConfig(chunk_tokens=settings.chunk_tokens, chunk_overlap=settings.chunk_overlap)
        print(f"ingesting the corpus once (a few minutes; {chunking}, embedder reads {embedder.read_tokens}) ...",
              flush=True)  # fmt: skip
        t0 = time.perf_counter()
        report = ingest_paths([folder / "corpus.jsonl"], "scifact", store=store, embedder=embedder, chunking=chunking)
        seconds = time.perf_counter() - t0
        info = report.corpus_info
        assert info is not None
        print(f"ingest: {info.documents} docs -> {info.chunks} chunks in {seconds:.1f} s = "
              f"{info.documents / seconds:.1f} docs/s", flush=True)  # fmt: skip
    chunks = store.all_chunks("scifact", limit=10**7)
    matrix = store._matrix(store._conn(), store._require(store._conn(), "scifact"))  # the cached vectors
    row_of = {c: i for i, c in enumerate(matrix.chunk_ids)}
    qids = list(queries)
    qvec = np.stack([np.asarray(embedder.embed([queries[q]], kind="query"))[0] for q in qids]).astype(np.float32)
    bm25 = np.full((len(qids), len(matrix.chunk_ids)), -np.inf, dtype=np.float32)
    for i, q in enumerate(qids):
        for hit in store.keyword_search("scifact", queries[q], BM25_DEPTH):
            bm25[i, row_of[hit.chunk_id]] = hit.score
    np.save(cache / "chunk_vectors.npy", matrix.matrix)
    np.save(cache / "query_vectors.npy", qvec)
    np.save(cache / "bm25.npy", bm25)
    docids = sorted({c.doc_id for c in chunks})
    (cache / "meta.json").write_text(json.dumps({"qids": qids, "docids": docids, "chunk_docs": matrix.doc_ids}))
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="BEIR folder")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/promptyard-scifact-tuning"), help="ingested store")
    parser.add_argument("--no-ranx-check", action="store_true", help="skip the check of the metrics against ranx")
    parser.add_argument(
        "--only", action="append", default=[], metavar="TEXT",
        help="run only the candidates whose name contains TEXT (repeatable; e.g. --only z-score --only alone)",
    )  # fmt: skip
    args = parser.parse_args()
    lab = Lab(args.corpus, args.cache)
    if not args.no_ranx_check:
        lab.check_against_ranx()
    print(f"SciFact: {len(lab.qids)} train queries, {len(lab.docids)} documents, {lab.cvec.shape[0]} chunks, "
          f"{FOLDS}-fold CV (seed {SEED})\n")  # fmt: skip
    print(
        "| candidate | settings | CV nDCG@10 | CV R@100 | full nDCG@10 | full R@100 | best on all | picked per fold |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, make in families(lab).items():
        if args.only and not any(text in name for text in args.only):
            continue
        table = make()
        r = cross_validate(lab, table)
        picks = "; ".join(str(p) for p in r["picks"]) if len(table) > 1 else "-"  # type: ignore[attr-defined]
        print(f"| {name} | {len(table)} | {r['cv']:.4f} | {r['cv_rec']:.4f} | {r['full_ndcg']:.4f} | "
              f"{r['full_rec']:.4f} | {r['full']} | {picks} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
