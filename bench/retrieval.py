"""Retrieval benchmark on BEIR SciFact: promptyard against a plain hand-glued baseline, in one run.

    .venv/bin/python bench/retrieval.py --corpus ../shared/data/scifact
    .venv/bin/python bench/retrieval.py --scale            # synthetic corpus, 5,000 -> 200,000 chunks

Settings come from the environment as usual, so a trade-off is one variable away, e.g.
``PROMPTYARD_EMBEDDING_READ_TOKENS=160`` (embed the first 160 tokens of each chunk) or
``PROMPTYARD_EMBEDDING_BACKEND=onnx`` (float32).

promptyard: ``ingest`` of ``corpus.jsonl`` into the embedded SQLite store (FTS5 BM25 +
NumPy vectors, all-MiniLM-L6-v2 on ONNX Runtime int8, 300-token chunks), then bm25,
vector and hybrid search with the configured fusion (default: z-score, 200 candidates a
list, weights 0.45 / 0.55), the previous default (``hybrid-rrf``: RRF k=60, 100 candidates,
weights 1 / 1) for comparison, and rerank when ``PROMPTYARD_RERANKER`` is set. The fusion
settings were chosen by cross-validation in ``bench/retrieval_tuning.py``.
Baseline: bm25s + the plain sentence-transformers ``encode`` loop + reciprocal rank
fusion written by hand. Metrics come from ``ranx`` on the train queries and qrels.
Chunk hits are turned into a document ranking by each document's best chunk.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
METRICS = ["ndcg@10", "recall@5", "recall@100", "mrr"]
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "scifact"


def load_beir(folder: Path) -> tuple[list[dict[str, str]], dict[str, str], dict[str, dict[str, int]]]:
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").read_text().splitlines() if line.strip()]
    queries = {}
    for line in (folder / "queries.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            queries[str(row["_id"])] = row["text"]
    qrels: dict[str, dict[str, int]] = {}
    qrel_file = folder / "qrels" / "train.tsv"
    for line in qrel_file.read_text().splitlines()[1:]:
        qid, did, score = line.split("\t")
        if int(score) > 0:
            qrels.setdefault(qid, {})[did] = int(score)
    queries = {q: t for q, t in queries.items() if q in qrels}
    return corpus, queries, qrels


def evaluate(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, float]:
    from ranx import Qrels, Run, evaluate

    scores = evaluate(Qrels(qrels), Run({q: r or {"__none__": 0.0} for q, r in run.items()}), METRICS)
    return {m: float(scores[m]) for m in METRICS}


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values), p)) if values else float("nan")


def doc_run(hits: list[tuple[str, float]]) -> dict[str, float]:
    """Chunk hits (best first) -> document scores by best chunk rank."""
    out: dict[str, float] = {}
    for doc_id, _score in hits:
        if doc_id not in out:
            out[doc_id] = 1.0 / (len(out) + 1)
    return out


# -- promptyard ------------------------------------------------------------------------
def run_promptyard(folder: Path, queries: dict[str, str], home: Path) -> dict[str, object]:
    from promptyard.rag.embedders.base import create_embedder
    from promptyard.rag.ingest import ingest_paths
    from promptyard.rag.models import ChunkConfig, SearchRequest
    from promptyard.rag.rerankers.base import create_reranker
    from promptyard.rag.service import RagService
    from promptyard.rag.stores.sqlite import SQLiteStore
    from promptyard.settings import Settings
    from promptyard.tracing.model import NullRecorder

    # The ONNX export is cached in the repo's .promptyard/cache (as `make run` does); the store is temporary.
    settings = Settings(home=ROOT / ".promptyard", rag_db_path=home / "bench-rag.db")
    embedder = create_embedder(settings.embedder, settings)
    embedder.embed(["warm up: load (and on the very first run export) the model"])
    store = SQLiteStore(home / "bench-rag.db")
    chunking = ChunkConfig(chunk_tokens=settings.chunk_tokens, chunk_overlap=settings.chunk_overlap)
    t0 = time.perf_counter()
    report = ingest_paths([folder / "corpus.jsonl"], "scifact", store=store, embedder=embedder, chunking=chunking)
    ingest_s = time.perf_counter() - t0
    info = report.corpus_info
    assert info is not None
    service = RagService(
        settings, store=store, embedder=embedder, reranker=create_reranker(settings.reranker, settings),
        tracer=NullRecorder(),
    )  # fmt: skip
    modes = ["bm25", "vector", "hybrid"]
    runs: dict[str, dict[str, dict[str, float]]] = {m: {} for m in [*modes, "hybrid-rrf"]}
    old_default = {"fusion": "rrf", "candidates": 100, "vector_weight": 1.0, "bm25_weight": 1.0}
    rerank = service.reranker.active
    if rerank:
        runs["rerank"] = {}
    for qid, text in queries.items():
        for mode in modes:
            res = service.search(SearchRequest(corpus="scifact", query=text, k=100, mode=mode, rerank=False))  # type: ignore[arg-type]
            runs[mode][qid] = doc_run([(h.doc_id, h.score) for h in res.hits])
        res = service.search(SearchRequest(corpus="scifact", query=text, k=100, rerank=False, **old_default))  # type: ignore[arg-type]
        runs["hybrid-rrf"][qid] = doc_run([(h.doc_id, h.score) for h in res.hits])
        if rerank:
            res = service.search(SearchRequest(corpus="scifact", query=text, k=100, rerank=True))
            runs["rerank"][qid] = doc_run([(h.doc_id, h.score) for h in res.hits])
    latencies: dict[str, list[float]] = {m: [] for m in modes}
    for text in queries.values():
        for mode in modes:
            t = time.perf_counter()
            service.search(SearchRequest(corpus="scifact", query=text, k=10, mode=mode, rerank=False))  # type: ignore[arg-type]
            latencies[mode].append((time.perf_counter() - t) * 1000)
    store.close()
    return {
        "runs": runs,
        "latencies": latencies,
        "ingest_s": ingest_s,
        "docs": info.documents,
        "chunks": info.chunks,
        "docs_per_s": info.documents / ingest_s,
        "backend": f"{getattr(embedder, 'backend', embedder.name)}, reads {embedder.read_tokens} tokens a chunk",
    }


# -- the plain baseline ------------------------------------------------------------------
def run_baseline(corpus: list[dict[str, str]], queries: dict[str, str]) -> dict[str, object]:
    import bm25s
    from sentence_transformers import SentenceTransformer

    from promptyard.rag.embedders.local import default_model_dir

    try:
        import Stemmer  # type: ignore[import-not-found]

        stemmer = Stemmer.Stemmer("english")
    except ImportError:
        stemmer = None
    ids = [str(d["_id"]) for d in corpus]
    texts = [(d.get("title", "") + " " + d["text"]).strip() for d in corpus]
    model = SentenceTransformer(str(default_model_dir()), device="cpu")
    model.encode(["warm up"])
    t0 = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    doc_vecs = model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    ingest_s = time.perf_counter() - t0
    runs: dict[str, dict[str, dict[str, float]]] = {"bm25": {}, "vector": {}, "hybrid": {}}
    latencies: list[float] = []
    for qid, text in queries.items():
        t = time.perf_counter()
        q_tokens = bm25s.tokenize([text], stopwords="en", stemmer=stemmer, show_progress=False)
        docs, scores = retriever.retrieve(q_tokens, k=100, show_progress=False)
        bm25 = [ids[i] for i in docs[0]]
        qv = model.encode([text], normalize_embeddings=True, show_progress_bar=False)[0]
        sims = doc_vecs @ qv
        vec_idx = np.argsort(-sims)[:100]
        vec = [ids[i] for i in vec_idx]
        fused: dict[str, float] = {}
        for ranking in (bm25, vec):
            for rank, did in enumerate(ranking, start=1):
                fused[did] = fused.get(did, 0.0) + 1.0 / (60 + rank)
        latencies.append((time.perf_counter() - t) * 1000)
        runs["bm25"][qid] = {d: float(s) for d, s in zip(bm25, scores[0], strict=True)}
        runs["vector"][qid] = {ids[i]: float(sims[i]) for i in vec_idx}
        runs["hybrid"][qid] = dict(sorted(fused.items(), key=lambda kv: -kv[1])[:100])
    return {"runs": runs, "latencies": {"hybrid": latencies}, "ingest_s": ingest_s, "docs_per_s": len(ids) / ingest_s,
            "stemmer": stemmer is not None}  # fmt: skip


def main_scifact(folder: Path, limit: int | None, skip_baseline: bool) -> None:
    corpus, queries, qrels = load_beir(folder)
    if limit:
        queries = dict(list(queries.items())[:limit])
    print(f"SciFact: {len(corpus)} documents, {len(queries)} train queries with qrels")
    with tempfile.TemporaryDirectory(prefix="bench-rag-") as tmp:
        ours = run_promptyard(folder, queries, Path(tmp))
    base = None if skip_baseline else run_baseline(corpus, queries)
    qrels = {q: r for q, r in qrels.items() if q in queries}
    print()
    print(f"{'system':<28}" + "".join(f"{m:>12}" for m in METRICS))
    results: dict[str, dict[str, float]] = {}
    for name, res in [("promptyard", ours), ("baseline", base)]:
        if res is None:
            continue
        for mode, run in res["runs"].items():  # type: ignore[attr-defined]
            scores = evaluate(qrels, run)
            results[f"{name} {mode}"] = scores
            print(f"{name + ' ' + mode:<28}" + "".join(f"{scores[m]:>12.4f}" for m in METRICS))
    print()
    lat = ours["latencies"]
    for mode in ("bm25", "vector", "hybrid"):
        values = lat[mode]  # type: ignore[index]
        print(
            f"promptyard {mode:<7} query latency (k=10): p50 {pct(values, 50):6.2f} ms   p95 {pct(values, 95):6.2f} ms"
        )
    print(f"promptyard ingest: {ours['docs']} docs -> {ours['chunks']} chunks in {ours['ingest_s']:.1f}s = "
          f"{ours['docs_per_s']:.1f} docs/s (embedder backend {ours['backend']})")  # fmt: skip
    if base is not None:
        bl = base["latencies"]["hybrid"]  # type: ignore[index]
        print(f"baseline   hybrid  query latency:        p50 {pct(bl, 50):6.2f} ms   p95 {pct(bl, 95):6.2f} ms")
        stem = base["stemmer"]
        print(f"baseline ingest: {base['ingest_s']:.1f}s = {base['docs_per_s']:.1f} docs/s (bm25s stemmer: {stem})")
        print()
        d = results["promptyard hybrid"]["ndcg@10"] - results["baseline hybrid"]["ndcg@10"]
        print(f"hybrid nDCG@10: promptyard {results['promptyard hybrid']['ndcg@10']:.4f} vs baseline "
              f"{results['baseline hybrid']['ndcg@10']:.4f} ({d:+.4f})")  # fmt: skip
        dv = results["promptyard vector"]["ndcg@10"] - results["baseline vector"]["ndcg@10"]
        print(f"vector nDCG@10 (embedding quality): {dv:+.4f} vs the sentence-transformers float model")
        print(f"ingest speed ratio: {float(ours['docs_per_s']) / float(base['docs_per_s']):.2f}x the baseline")  # type: ignore[arg-type]
        print(f"hybrid p50 latency ratio: {pct(lat['hybrid'], 50) / pct(bl, 50):.2f}x the baseline")  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/)"
    )
    parser.add_argument("--limit-queries", type=int, default=None, help="Evaluate only the first N queries.")
    parser.add_argument("--skip-baseline", action="store_true", help="Do not run the plain baseline.")
    parser.add_argument(
        "--scale", action="store_true", help="Synthetic scale run instead (see bench/retrieval_scale.py)."
    )
    parser.add_argument("--sizes", default="5000,20000,50000,100000,200000", help="Chunk counts for --scale.")
    args = parser.parse_args()
    if args.scale:
        from retrieval_scale import main_scale  # type: ignore[import-not-found]

        main_scale([int(s) for s in args.sizes.split(",")])
        return
    if not (args.corpus / "corpus.jsonl").is_file():
        sys.exit(f"no corpus.jsonl in {args.corpus}")
    main_scifact(args.corpus, args.limit_queries, args.skip_baseline)


if __name__ == "__main__":
    main()
