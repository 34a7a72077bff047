"""Scale run for the embedded store: how query latency and memory grow from 5,000 to 200,000 chunks.

    .venv/bin/python bench/retrieval.py --scale [--sizes 5000,20000,50000,100000,200000]

Synthetic and cheap on purpose: chunk text is ~80 Zipf-distributed words from a
30,000-word vocabulary (so BM25 posting lists look like natural text), vectors are random
unit vectors of 384 dimensions (MiniLM's size), written through the store's normal
``apply`` path in batches of 5,000 one-chunk documents. Queries run the full retriever
(vector top-100 + BM25 top-100 + RRF + fetch of the top 10); the query embedding is a
random vector, so the ~3-6 ms of a real MiniLM query embedding is not included here
(the SciFact run measures it).
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from promptyard.rag.embedders.base import EmbedKind, Progress, RegexTokenizer, Vectors, normalize
from promptyard.rag.models import Chunk, ChunkConfig, Document, DocumentUpdate
from promptyard.rag.rerankers.none import NoReranker
from promptyard.rag.retrieval import Retriever
from promptyard.rag.stores.sqlite import SQLiteStore

DIM = 384
BATCH = 5000
QUERIES = 200


class RandomEmbedder:
    name = "random"
    model_id = "random-384"
    dim = DIM
    max_tokens = 256
    tokenizer = RegexTokenizer()

    def __init__(self, seed: int = 1) -> None:
        self.rng = np.random.default_rng(seed)

    def embed(self, texts: Sequence[str], *, kind: EmbedKind = "document", progress: Progress | None = None) -> Vectors:
        return normalize(self.rng.standard_normal((len(texts), DIM)).astype(np.float32))

    def close(self) -> None:
        return None


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_vocab(rng: np.random.Generator, n: int = 30_000) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, size=int(rng.integers(3, 10)))) for _ in range(n)]


def zipf_words(rng: np.random.Generator, vocab: list[str], count: int) -> list[str]:
    ranks = np.minimum(rng.zipf(1.2, size=count), len(vocab)) - 1
    return [vocab[i] for i in ranks]


def batch_updates(rng: np.random.Generator, vocab: list[str], start: int, n: int) -> list[DocumentUpdate]:
    words = zipf_words(rng, vocab, n * 80)
    vectors = normalize(rng.standard_normal((n, DIM)).astype(np.float32))
    out = []
    for i in range(n):
        text = " ".join(words[i * 80 : (i + 1) * 80])
        doc_id = f"d{start + i}"
        chunk = Chunk(chunk_id=f"{doc_id}#0", doc_id=doc_id, ordinal=0, text=text, start=0, end=len(text),
                      source="synthetic", tokens=80)  # fmt: skip
        doc = Document(doc_id=doc_id, text=text, source="synthetic")
        out.append(DocumentUpdate(document=doc, content_hash=doc_id, chunks=[chunk], vectors=vectors[i : i + 1]))
    return out


def main_scale(sizes: list[int]) -> None:
    rng = np.random.default_rng(0)
    vocab = make_vocab(rng)
    print(f"scale run: synthetic chunks (80 Zipf words, {DIM}-d random vectors), {QUERIES} hybrid queries per size")
    print(f"{'chunks':>8} {'ingest/s':>9} {'hybrid p50':>11} {'p95':>8} {'vector p50':>11} {'bm25 p50':>9}"
          f" {'RSS MB':>8} {'peak MB':>8} {'db MB':>7}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        path = Path(tmp) / "scale.db"
        store = SQLiteStore(path)
        store.create_corpus("scale", embedder=RandomEmbedder.model_id, dim=DIM, chunking=ChunkConfig())
        retriever = Retriever(store, RandomEmbedder(), NoReranker(), candidates=100)
        total = 0
        for target in sizes:
            t0 = time.perf_counter()
            added = 0
            while total < target:
                n = min(BATCH, target - total)
                store.apply("scale", upserts=batch_updates(rng, vocab, total, n))
                total += n
                added += n
            ingest_rate = added / (time.perf_counter() - t0) if added else float("nan")
            info = store.get_corpus("scale")
            assert info is not None
            # query words skip the 100 most frequent ones, as the keyword search skips stop words
            queries = [" ".join(vocab[i] for i in rng.integers(100, 5000, size=6)) for _ in range(QUERIES)]
            retriever.search("scale", "warm up", corpus_version=info.version, k=10)  # loads the matrix once
            lat: dict[str, list[float]] = {"hybrid": [], "vector": [], "bm25": []}
            for q in queries:
                for mode in lat:
                    t = time.perf_counter()
                    retriever.search("scale", q, corpus_version=info.version, k=10, mode=mode)  # type: ignore[arg-type]
                    lat[mode].append((time.perf_counter() - t) * 1000)
            p = {m: np.percentile(v, [50, 95]) for m, v in lat.items()}
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            db_mb = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 2**20
            print(f"{total:>8} {ingest_rate:>9.0f} {p['hybrid'][0]:>9.1f}ms {p['hybrid'][1]:>6.1f}ms"
                  f" {p['vector'][0]:>9.1f}ms {p['bm25'][0]:>7.1f}ms {rss_mb():>8.0f} {peak:>8.0f} {db_mb:>7.0f}",
                  flush=True)  # fmt: skip
        store.close()
