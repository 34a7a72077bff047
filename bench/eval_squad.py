"""Evaluate ``rag_answer`` with the local model on SQuAD v1.1 dev questions, end to end.

Ingests ``<data>/rag_corpus.jsonl`` as a corpus (through the RAG service: chunking, local
MiniLM embeddings, SQLite store), stores a seeded sample of ``<data>/rag_qa.jsonl`` as a
dataset, runs ``promptyard``'s eval runner with the RAG target (hybrid retrieval, context
building, the prompt through the gateway on the local SmolLM2-135M model, citation checks)
and prints retrieval Recall@5 against ``gold_doc_id``, exact match and F1, the citation
validity rate, abstention correctness, cost and latency. The Markdown scoreboard goes to
``<reports-dir>/<run-id>.md``.

Usage::

    .venv/bin/python bench/eval_squad.py [--n 50] [--seed 0] [--data ../shared/data/squad]
                                         [--top-k 5] [--concurrency 1] [--reports-dir reports]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from promptyard.cli.evals_view import Progress
from promptyard.evals.datasets import parse_row
from promptyard.evals.service import EvalOptions
from promptyard.runtime import Runtime
from promptyard.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "squad"
PROMPT = "rag_answer@1.0.0"
CORPUS = "squad"


def sample_questions(path: Path, n: int, seed: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    picked = random.Random(seed).sample(rows, min(n, len(rows)))
    return [
        {"id": r["id"], "question": r["question"], "answers": r["answers"], "gold_doc_id": r["gold_doc_id"]}
        for r in picked
    ]


def metric(agg: dict[str, Any], name: str) -> str:
    m = agg["metrics"].get(name)
    return "n/a" if m is None else f"{m['mean']:.3f} (n={m['n']})"


async def run(args: argparse.Namespace, home: Path) -> int:
    settings = load_settings(
        home=home,
        database_url=f"sqlite:///{(home / 'promptyard.db').as_posix()}",
        prompts_dir=ROOT / "prompts",
        cache_backend="none",
        tracing=True,
    )
    rt = Runtime(settings)
    rt.registry.sync(ROOT / "prompts", actor="bench")

    started = time.perf_counter()
    report = await asyncio.to_thread(rt.rag.ingest, [args.data / "rag_corpus.jsonl"], CORPUS)
    ingest_s = time.perf_counter() - started
    info = rt.rag.corpus(CORPUS)
    print(f"ingest: {info.documents} documents, {info.chunks} chunks in {ingest_s:.1f} s "
          f"({info.documents / ingest_s:.0f} docs/s); failures: {len(report.failed)}")  # fmt: skip

    rows = sample_questions(args.data / "rag_qa.jsonl", args.n, args.seed)
    items = [parse_row(row, i + 1) for i, row in enumerate(rows)]
    dataset = f"squad-dev-n{len(items)}-s{args.seed}"
    added = rt.evals.datasets.add_items(dataset, items, actor="bench", source=str(args.data / "rag_qa.jsonl"))
    print(f"dataset: {added.dataset.ref} ({len(items)} questions, seed {args.seed})")

    rt.evals.reports_dir = args.reports_dir
    options = EvalOptions(
        concurrency=args.concurrency, corpus=CORPUS, top_k=args.top_k, use_cache=False, ks=(5, 10), new_run=True
    )
    started = time.perf_counter()
    with Progress(f"{PROMPT} on {dataset}") as progress:
        outcome = await rt.evals.run(PROMPT, added.dataset.ref, options, progress=progress)
    wall_s = time.perf_counter() - started
    agg = outcome.run.aggregates or {}
    ok = max(agg.get("ok", 0), 1)
    latency = agg["latency_ms"]
    model = next((r.extra.get("model") for r in outcome.results if r.extra.get("model")), "?")
    print()
    print(f"model: {model}; prompt {PROMPT}; top-k {args.top_k}; concurrency {args.concurrency}")
    print(f"items: {agg['items']} (ok {agg['ok']}, errors {agg['errors']}); wall {wall_s:.1f} s")
    print(f"retrieval  Recall@5 {metric(agg, 'recall@5')}  Recall@10 {metric(agg, 'recall@10')}  "
          f"nDCG@10 {metric(agg, 'ndcg@10')}  MRR {metric(agg, 'mrr')}")  # fmt: skip
    print(f"answers    EM {metric(agg, 'exact_match')}  F1 {metric(agg, 'f1')}")
    print(f"citations  validity rate {metric(agg, 'citations_valid')}")
    print(f"abstention correct {metric(agg, 'abstention_correct')}  abstained rate {metric(agg, 'abstained')}")
    print(f"cost       total ${agg['cost_usd']:.6f}, per item ${agg['cost_usd'] / ok:.6f}; "
          f"tokens {agg['input_tokens']} in / {agg['output_tokens']} out")  # fmt: skip
    print(f"latency    mean {latency['mean']:.0f} ms, p50 {latency['p50']:.0f} ms, p95 {latency['p95']:.0f} ms "
          "(retrieval + generation per question)")  # fmt: skip
    print(f"scoreboard: {outcome.run.report_path}")
    await rt.aclose()
    return 0 if agg["errors"] < agg["items"] else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50, help="questions to sample (default 50)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with rag_corpus.jsonl and rag_qa.jsonl")
    parser.add_argument("--top-k", type=int, default=5, help="chunks retrieved per question")
    parser.add_argument("--concurrency", type=int, default=1, help="questions in flight (the local model runs one)")
    parser.add_argument("--reports-dir", type=Path, default=Path("reports"), help="where the scoreboard goes")
    parser.add_argument("--home", type=Path, default=None, help="promptyard home (default: a temporary folder)")
    args = parser.parse_args()
    if not (args.data / "rag_corpus.jsonl").exists():
        print(f"no SQuAD data at {args.data} (expected rag_corpus.jsonl and rag_qa.jsonl)", file=sys.stderr)
        return 2
    if args.home is not None:
        args.home.mkdir(parents=True, exist_ok=True)
        return asyncio.run(run(args, args.home))
    with tempfile.TemporaryDirectory(prefix="eval-squad-") as tmp:
        return asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
