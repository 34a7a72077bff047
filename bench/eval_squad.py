"""Evaluate ``rag_answer`` with the local model on SQuAD v1.1 dev questions, end to end.

Ingests ``<data>/rag_corpus.jsonl`` as a corpus (through the RAG service: chunking, local
MiniLM embeddings, SQLite store), stores a seeded sample of ``<data>/rag_qa.jsonl`` as a
dataset, runs ``promptyard``'s eval runner with the RAG target (hybrid retrieval, context
building, the prompt through the gateway on the local model (SmolLM2-135M-Instruct, or
``PROMPTYARD_LOCAL_MODEL=gemma3-270m``), citation checks)
and prints retrieval Recall@5 against ``gold_doc_id``, exact match and F1, the citation
rate (answered questions with a valid citation) and validity, abstention correctness, cost and
latency. The context is the top ``--top-k`` chunks cut to ``--sentences`` sentences each and
``--sentences-total`` in all, ranked by ``--ranking`` (docs/rag.md). The Markdown scoreboard
goes to ``<reports-dir>/<run-id>.md``.

Unanswerable questions (``--unanswerable``, default n/5, drawn from the same seed) are
answered over a second corpus without their gold passages (``squad-nogold``): the right
answer is the abstention sentence. With a constrained prompt the span confidence of every
answer is collected (debug log of the local model) and a calibration table shows what each
``abstain_below`` threshold would give.

Usage::

    .venv/bin/python bench/eval_squad.py [--n 50] [--seed 0] [--data ../shared/data/squad]
                                         [--prompt rag_answer@1.2.0] [--top-k 3] [--sentences 1]
                                         [--sentences-total 1] [--ranking idf_embed]
                                         [--unanswerable N] [--concurrency 1] [--reports-dir reports]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import re
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
PROMPT = "rag_answer@1.2.0"
CORPUS = "squad"
NOGOLD = "squad-nogold"
CONFIDENCE_GRID = (-99.0, -3.0, -2.5, -2.0, -1.8, -1.6, -1.4, -1.2, -1.0, -0.8, -0.6)
SUPPORT_GRID = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
_CONFIDENCE = re.compile(r"confidence (-?[0-9.e+-]+|None), support ([0-9.e+-]+|None)")


def sample_questions(
    path: Path, n: int, seed: int, extra: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``n`` answerable questions and ``extra`` more (to be made unanswerable), one seeded draw."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    picked = random.Random(seed).sample(rows, min(n + extra, len(rows)))
    out = [
        {"id": r["id"], "question": r["question"], "answers": r["answers"], "gold_doc_id": r["gold_doc_id"]}
        for r in picked
    ]
    return out[:n], out[n:]


class Confidences(logging.Handler):
    """Collects the span confidence the local model logs for each constrained answer."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.values: list[float | None] = []
        self.support: list[float | None] = []

    def emit(self, record: logging.LogRecord) -> None:
        m = _CONFIDENCE.search(record.getMessage())
        if m:
            self.values.append(None if m.group(1) == "None" else float(m.group(1)))
            self.support.append(None if m.group(2) == "None" else float(m.group(2)))


def metric(agg: dict[str, Any], name: str) -> str:
    m = agg["metrics"].get(name)
    return "n/a" if m is None else f"{m['mean']:.3f} (n={m['n']})"


async def evaluate(
    rt: Runtime, args: argparse.Namespace, corpus: str, name: str, rows: list[dict[str, Any]], source: Path
) -> tuple[Any, float, Confidences]:
    items = [parse_row(row, i + 1) for i, row in enumerate(rows)]
    added = rt.evals.datasets.add_items(name, items, actor="bench", source=str(source))
    print(f"dataset: {added.dataset.ref} ({len(items)} questions, seed {args.seed}, corpus {corpus})")
    options = EvalOptions(
        concurrency=args.concurrency, corpus=corpus, top_k=args.top_k, use_cache=False, ks=(5, 10), new_run=True
    )
    handler = Confidences()
    logger = logging.getLogger("promptyard.providers.llama_model")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    started = time.perf_counter()
    try:
        with Progress(f"{args.prompt} on {added.dataset.ref}") as progress:
            outcome = await rt.evals.run(args.prompt, added.dataset.ref, options, progress=progress)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return outcome, time.perf_counter() - started, handler


def cited(result: Any) -> bool:
    return any(c.get("valid") for c in result.extra.get("citations", []))


def calibration(
    name: str,
    grid: tuple[float, ...],
    answerable: list[float | None],
    unanswerable: list[float | None],
    f1s: list[float],
) -> None:
    """What each threshold would give: answerable abstained and F1 kept, unanswerable abstained."""
    if not any(v is not None for v in answerable + unanswerable):
        return
    print(f"calibration: abstain when {name} < t")
    print("       t | answerable abstained, F1 | unanswerable abstained | balanced acc")
    for t in grid:
        kept = [v is not None and v >= t for v in answerable]
        f1 = sum(f for f, k in zip(f1s, kept, strict=False) if k) / max(len(f1s), 1)
        a_abs = 1 - sum(kept) / max(len(kept), 1)
        u_abs = sum(v is None or v < t for v in unanswerable) / max(len(unanswerable), 1)
        bal = ((1 - a_abs) + u_abs) / 2 if unanswerable else 1 - a_abs
        print(f"  {t:6.2f} | {a_abs:.2f}, {f1:.3f} | {u_abs:.2f} | {bal:.3f}")


async def run(args: argparse.Namespace, home: Path) -> int:
    settings = load_settings(
        home=home,
        database_url=f"sqlite:///{(home / 'promptyard.db').as_posix()}",
        prompts_dir=ROOT / "prompts",
        cache_backend="none",
        tracing=True,
        rag_context_sentences=args.sentences,
        rag_context_sentences_total=args.sentences_total,
        rag_context_sentence_ranking=args.ranking,
    )
    rt = Runtime(settings)
    rt.registry.sync(ROOT / "prompts", actor="bench")
    rt.evals.reports_dir = args.reports_dir
    unanswerable = args.n // 5 if args.unanswerable is None else args.unanswerable
    rows, held = sample_questions(args.data / "rag_qa.jsonl", args.n, args.seed, unanswerable)

    started = time.perf_counter()
    report = await asyncio.to_thread(rt.rag.ingest, [args.data / "rag_corpus.jsonl"], CORPUS)
    ingest_s = time.perf_counter() - started
    info = rt.rag.corpus(CORPUS)
    print(f"ingest: {info.documents} documents, {info.chunks} chunks in {ingest_s:.1f} s "
          f"({info.documents / ingest_s:.0f} docs/s); failures: {len(report.failed)}")  # fmt: skip
    if held:
        removed = {r["gold_doc_id"] for r in held}
        lines = (args.data / "rag_corpus.jsonl").read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if line.strip() and json.loads(line)["_id"] not in removed]
        nogold = home / "rag_corpus_nogold.jsonl"
        nogold.write_text("\n".join(kept) + "\n", encoding="utf-8")
        await asyncio.to_thread(rt.rag.ingest, [nogold], NOGOLD)
        print(f"ingest: {NOGOLD}: {len(kept)} documents ({len(removed)} gold passages removed)")

    outcome, wall_s, conf = await evaluate(
        rt, args, CORPUS, f"squad-dev-n{len(rows)}-s{args.seed}", rows, args.data / "rag_qa.jsonl"
    )
    un_outcome, un_conf = None, Confidences()
    if held:
        un_rows = [{"id": r["id"], "question": r["question"], "should_abstain": True} for r in held]
        un_outcome, un_wall, un_conf = await evaluate(
            rt, args, NOGOLD, f"squad-dev-unanswerable-n{len(held)}-s{args.seed}", un_rows, args.data / "rag_qa.jsonl"
        )
        wall_s += un_wall
    agg = outcome.run.aggregates or {}
    ok = max(agg.get("ok", 0), 1)
    latency = agg["latency_ms"]
    results = [r for r in outcome.results if r.status == "ok"]
    answered = [r for r in results if not r.extra.get("abstained")]
    model = next((r.extra.get("model") for r in outcome.results if r.extra.get("model")), "?")
    print()
    print(f"model: {model} ({settings.local_model_path or settings.local_model}); prompt {args.prompt}; "
          f"top-k {args.top_k}; sentences per document {args.sentences}, in all {args.sentences_total}, "
          f"ranked by {args.ranking}; concurrency {args.concurrency}")  # fmt: skip
    print(f"items: {agg['items']} answerable (ok {agg['ok']}, errors {agg['errors']}); wall {wall_s:.1f} s")
    print(f"retrieval  Recall@5 {metric(agg, 'recall@5')}  Recall@10 {metric(agg, 'recall@10')}  "
          f"nDCG@10 {metric(agg, 'ndcg@10')}  MRR {metric(agg, 'mrr')}")  # fmt: skip
    print(f"answers    EM {metric(agg, 'exact_match')}  F1 {metric(agg, 'f1')}")
    print(f"citations  rate {sum(map(cited, answered)) / max(len(answered), 1):.3f} "
          f"({sum(map(cited, answered))} of {len(answered)} answered questions carry a valid citation); "
          f"validity {metric(agg, 'citations_valid')}")  # fmt: skip
    print(f"abstention answerable: abstained {metric(agg, 'abstained')}, correct {metric(agg, 'abstention_correct')}")
    if un_outcome is not None:
        un_agg = un_outcome.run.aggregates or {}
        print(f"abstention unanswerable (gold passage removed): correct {metric(un_agg, 'abstention_correct')}")
        both = [r for r in [*results, *un_outcome.results] if r.status == "ok"]
        correct = [v for r in both if (v := r.metrics.get("abstention_correct")) is not None]
        print(f"abstention all: correct {sum(correct) / max(len(correct), 1):.3f} (n={len(correct)})")
    print(f"cost       total ${agg['cost_usd']:.6f}, per item ${agg['cost_usd'] / ok:.6f}; "
          f"tokens {agg['input_tokens']} in / {agg['output_tokens']} out")  # fmt: skip
    print(f"latency    mean {latency['mean']:.0f} ms, p50 {latency['p50']:.0f} ms, p95 {latency['p95']:.0f} ms "
          "(retrieval + generation per answerable question)")  # fmt: skip
    f1s = [r.metrics.get("f1") or 0.0 for r in outcome.results if r.status == "ok"]
    calibration("span confidence", CONFIDENCE_GRID, conf.values, un_conf.values, f1s)
    calibration("support", SUPPORT_GRID, conf.support, un_conf.support, f1s)
    print(f"scoreboard: {outcome.run.report_path}")
    await rt.aclose()
    return 0 if agg["errors"] < agg["items"] else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50, help="questions to sample (default 50)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with rag_corpus.jsonl and rag_qa.jsonl")
    parser.add_argument("--prompt", default=PROMPT, help=f"prompt to evaluate (default {PROMPT})")
    parser.add_argument("--top-k", type=int, default=3, help="chunks retrieved per question")
    parser.add_argument(
        "--sentences",
        type=int,
        default=1,
        help="sentences kept per document (0: the prompt's context block, else whole passages)",
    )
    parser.add_argument(
        "--sentences-total", type=int, default=1, help="sentences kept over all documents, the best (0: no cap)"
    )
    parser.add_argument(
        "--ranking", choices=["overlap", "idf", "idf_embed"], default="idf_embed", help="how sentences are ranked"
    )
    parser.add_argument("--unanswerable", type=int, default=None, help="unanswerable questions (default n/5)")
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
