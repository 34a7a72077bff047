"""RAG evaluation through the real RAG service: retrieval metrics, citations, abstention, cost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptyard.evals.service import EvalOptions
from promptyard.runtime import Runtime
from promptyard.settings import load_settings
from tests.evals.quiz import QuizProvider, judge_prompt

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rag_runtime(tmp_path: Path, quiz: QuizProvider) -> Runtime:
    """Ten documents ``dN`` ("The answer to question N is answer N."), the quiz rag_answer prompt."""
    prompts = tmp_path / "prompts" / "rag_answer"
    prompts.mkdir(parents=True)
    shipped = (ROOT / "prompts" / "rag_answer" / "1.0.0.prompt").read_text()
    (prompts / "1.0.0.prompt").write_text(judge_prompt(shipped))
    settings = load_settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{(tmp_path / 'py.db').as_posix()}",
        prompts_dir=tmp_path / "prompts",
        embedder="fake",
        context_token_budget=40,
        cache_backend="memory",
    )
    rt = Runtime(settings)
    rt.registry.sync(tmp_path / "prompts", actor="tests")
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"id": f"d{n}", "title": f"Fact {n}", "text": f"The answer to question {n} is answer {n}."})
            + "\n"
            for n in range(10)
        )
    )
    rt.rag.ingest([corpus], "quiz")
    rows = [
        {"id": f"q{n}", "question": f"question {n}?", "answers": [f"answer {n}"], "gold_doc_id": f"d{n}"}
        for n in range(10)
    ]
    rows.append({"id": "none", "question": "question 42?", "should_abstain": True})
    rt.evals.datasets.add_items(
        "quiz",
        [
            __import__("promptyard.evals.datasets", fromlist=["parse_row"]).parse_row(r, i + 1)
            for i, r in enumerate(rows)
        ],
        actor="tests",
    )
    rt.evals.reports_dir = tmp_path / "reports"
    return rt


async def test_rag_eval_scores_retrieval_citations_and_abstention(rag_runtime: Runtime, quiz: QuizProvider) -> None:
    rt = rag_runtime
    outcome = await rt.evals.run("rag_answer@1.0.0", "quiz", EvalOptions(corpus="quiz", top_k=3, concurrency=2))
    agg = outcome.run.aggregates or {}
    metrics = agg["metrics"]
    assert agg["ok"] == 11
    assert metrics["recall@5"]["n"] == 10  # items with a gold document
    assert metrics["recall@5"]["mean"] == 1.0  # BM25 finds "question N" in document dN
    assert metrics["mrr"]["mean"] > 0.5
    by_id = {r.item_id: r for r in outcome.results}
    assert by_id["q3"].output == "answer 3 [d3]"
    assert by_id["q3"].metrics["exact_match"] == 1.0  # citation markers are not part of the matched answer
    assert by_id["q7"].metrics["citations_valid"] == 0.5  # [d7] valid, [doc_99] not in the context
    assert "invalid_citation" in by_id["q7"].extra["flags"]
    assert by_id["none"].metrics["abstention_correct"] == 1.0
    assert metrics["abstention_correct"]["mean"] == 1.0
    assert by_id["q3"].input_tokens > 0
    assert by_id["q3"].trace_id
    assert by_id["q3"].extra["retrieved_doc_ids"][0] == "d3"
    assert outcome.run.config.target == "rag"

    # The answer cache serves a second run; --no-cache does not.
    again = await rt.evals.run(
        "rag_answer@1.0.0", "quiz", EvalOptions(corpus="quiz", top_k=3, concurrency=2, new_run=True)
    )
    assert (again.run.aggregates or {})["cache_hits"] == 11
    calls = len(quiz.requests)
    fresh = await rt.evals.run(
        "rag_answer@1.0.0", "quiz", EvalOptions(corpus="quiz", top_k=3, use_cache=False, new_run=True)
    )
    assert (fresh.run.aggregates or {})["cache_hits"] == 0
    assert len(quiz.requests) == calls + 11
    await rt.aclose()


async def test_unknown_corpus_fails_before_any_call(rag_runtime: Runtime, quiz: QuizProvider) -> None:
    from promptyard.errors import NotFound

    with pytest.raises(NotFound) as info:
        await rag_runtime.evals.run("rag_answer@1.0.0", "quiz", EvalOptions(corpus="nope"))
    assert "quiz" in info.value.available
    assert quiz.requests == []
    await rag_runtime.aclose()


async def test_rag_eval_uses_the_prompts_context_block(rag_runtime: Runtime, quiz: QuizProvider) -> None:
    rt = rag_runtime
    folder = rt.settings.prompts_dir / "rag_answer"
    text = (folder / "1.0.0.prompt").read_text().replace("version: 1.0.0", "version: 1.1.0", 1)
    head, sep, body = text.partition("\n---\n")
    (folder / "1.1.0.prompt").write_text(head + "\ncontext:\n  sentences: 1\n  sentences_total: 1" + sep + body)
    rt.registry.sync(rt.settings.prompts_dir, actor="tests")
    assert rt.registry.resolve("rag_answer", version="1.1.0").context is not None
    for version, documents in (("1.1.0", 1), ("1.0.0", 3)):
        quiz.requests.clear()
        outcome = await rt.evals.run(f"rag_answer@{version}", "quiz", EvalOptions(corpus="quiz", top_k=3))
        assert (outcome.run.aggregates or {}).get("ok") == 11
        [sent] = [m for r in quiz.requests for m in r.messages if "is answer 3." in m.content]
        assert sent.content.count("The answer to question") == documents, version
