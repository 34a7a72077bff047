"""The eval CLI end to end: real registry, real gateway pipeline, the quiz provider."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptyard.cli.main import app
from promptyard.runtime import Runtime
from tests.evals.conftest import QA_ROWS
from tests.evals.quiz import QuizProvider


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_datasets_add_list_show(eval_home: Path) -> None:
    code, out, err = invoke("datasets", "add", "qa", "qa.jsonl")
    assert code == 0, err
    assert "added qa@1: 12 rows" in out
    code, out, _ = invoke("datasets", "add", "qa", "qa.jsonl")
    assert code == 0
    assert "unchanged" in out
    assert "qa@1" in out
    code, out, _ = invoke("datasets", "list")
    assert code == 0
    assert "qa" in out
    assert "12" in out
    code, out, _ = invoke("datasets", "show", "qa@1", "--rows", "2")
    assert code == 0
    assert "question 0?" in out
    assert "question 2?" not in out
    code, _, err = invoke("datasets", "show", "nope")
    assert code == 1
    assert "no dataset named 'nope'" in err
    assert "qa" in err


def test_eval_run_stores_results_and_writes_the_scoreboard(eval_home: Path, quiz: QuizProvider) -> None:
    assert invoke("datasets", "add", "qa", "qa.jsonl")[0] == 0
    code, out, err = invoke("eval", "run", "--prompt", "qa@1.0.0", "--dataset", "qa", "--concurrency", "3")
    assert code == 0, err
    assert "completed, new run" in out
    assert "exact_match" in out
    rt = Runtime()
    [run] = rt.evals.runs.list_runs(prompt_name="qa", prompt_version="1.0.0")
    assert run.status == "completed"
    assert run.total_items == QA_ROWS
    assert run.aggregates is not None
    assert run.aggregates["metrics"]["exact_match"]["mean"] == 1.0
    results = rt.evals.runs.results(run.run_id)
    assert len(results) == QA_ROWS
    assert all(r.trace_id for r in results)
    assert all(r.input_tokens > 0 for r in results)
    report = eval_home / "reports" / f"{run.run_id}.md"
    assert run.report_path == f"reports/{run.run_id}.md"
    assert report.exists()
    assert "| exact_match | 1.0000 | 12 |" in report.read_text()
    rt.db.dispose()
    code, out, _ = invoke("eval", "runs", "qa")
    assert code == 0
    assert run.run_id in out
    code, out, _ = invoke("eval", "show", run.run_id[:12])
    assert code == 0
    assert "exact_match" in out


def test_rows_missing_a_variable_stop_before_any_model_call(eval_home: Path, quiz: QuizProvider) -> None:
    rows = eval_home / "bad.jsonl"
    rows.write_text(
        '{"id": "a", "question": "question 1?", "answers": ["answer 1"]}\n'
        '{"id": "b", "query": "question 2?", "answers": ["answer 2"]}\n'
        '{"id": "c", "question": 3, "answers": ["answer 3"]}\n'
    )
    assert invoke("datasets", "add", "bad", str(rows))[0] == 0
    code, _, err = invoke("eval", "run", "--prompt", "qa@1.0.0", "--dataset", "bad")
    assert code == 1
    assert "line 2 (id 'b'): missing required variable 'question'" in err
    assert "line 3 (id 'c'): variable 'question' must be string" in err
    assert quiz.requests == []
    code, _out, err = invoke("eval", "run", "--prompt", "qa@1.0.0", "--dataset", "bad", "--skip-invalid")
    assert code == 0, err
    assert len(quiz.requests) == 1
    assert "skipped" in err


def test_compare_gates_a_worse_version_and_passes_identical_ones(eval_home: Path, quiz: QuizProvider) -> None:
    assert invoke("datasets", "add", "qa", "qa.jsonl")[0] == 0
    code, out, err = invoke("eval", "compare", "qa@1.0.0", "qa@1.1.0", "--dataset", "qa")
    assert code == 3, out + err
    assert "regression" in err
    assert "exact_match" in out
    calls = len(quiz.requests)
    assert calls == 2 * QA_ROWS

    # Identical text under another version: no delta, exit 0; the 1.0.0 run is reused.
    code, out, err = invoke("eval", "compare", "qa@1.0.0", "qa@1.2.0", "--dataset", "qa")
    assert code == 0, out + err
    assert len(quiz.requests) == calls + QA_ROWS
    # The same version against itself: one run, zero delta.
    code, out, err = invoke("eval", "compare", "qa@production", "qa@1.0.0", "--dataset", "qa")
    assert code == 0, out + err
    assert len(quiz.requests) == calls + QA_ROWS
    # The other direction is an improvement: exit 0.
    code, _, _ = invoke("eval", "compare", "qa@1.1.0", "qa@1.0.0", "--dataset", "qa")
    assert code == 0

    rt = Runtime()
    delta = rt.evals.latest_delta("qa", "1.0.0", "1.1.0")
    assert delta is not None
    assert delta.primary == "f1"
    assert delta.regressed
    assert rt.evals.latest_delta("qa", "1.0.0", "9.9.9") is None
    rt.db.dispose()

    # prompts diff shows the eval delta beside the text diff.
    code, out, err = invoke("prompts", "diff", "qa", "1.0.0", "1.1.0")
    assert code == 0, err
    assert "Reply however you like." in out
    assert "Eval delta" in out
    assert "-0.6667" in out  # f1: 12/12 -> 4/12
    assert "eval delta on qa@1" in out


def test_compare_threshold_and_metric(eval_home: Path) -> None:
    assert invoke("datasets", "add", "qa", "qa.jsonl")[0] == 0
    code, _, _ = invoke("eval", "compare", "qa@1.0.0", "qa@1.1.0", "--dataset", "qa", "--threshold", "0.9")
    assert code == 0  # a drop of 8/12 stays within a 0.9 allowance
    code, _, err = invoke(
        "eval", "compare", "qa@1.0.0", "qa@1.1.0", "-d", "qa", "--metric", "exact_match", "--report", "cmp.md"
    )
    assert code == 3
    assert "exact_match" in err
    markdown = (eval_home / "cmp.md").read_text()
    assert markdown.startswith("# qa@1.1.0 vs qa@1.0.0 on qa@1: REGRESSION")
    assert "| **exact_match** | 12 | 1.0000 | 0.3333 | -0.6667 |" in markdown


def test_judge_scores_failures_and_agreement(eval_home: Path, quiz: QuizProvider) -> None:
    rows = eval_home / "judged.jsonl"
    rows.write_text(
        "".join(
            json.dumps({"id": f"j{n}", "question": f"question {n}?", "answers": [f"answer {n}"], "human_score": h})
            + "\n"
            for n, h in [(0, 5), (1, 1), (2, 2), (3, 5), (4, 1)]
        )
    )
    assert invoke("datasets", "add", "judged", str(rows))[0] == 0
    code, _out, err = invoke("eval", "run", "--prompt", "qa@1.1.0", "--dataset", "judged", "--judge")
    assert code == 0, err
    rt = Runtime()
    [run] = rt.evals.runs.list_runs(prompt_name="qa", prompt_version="1.1.0")
    judge = (run.aggregates or {})["judge"]
    assert judge["prompt"] == "judge_answer@1.0.0"
    assert judge["failures"] == 0
    agreement = judge["agreement"]
    # The judge gives 5 to j0 and j3 (right answers) and 1 to the others; humans differ only on j2 (2).
    assert agreement["n"] == 5
    assert agreement["exact"] == 0.8
    assert agreement["within_one"] == 1.0
    assert (run.aggregates or {})["metrics"]["judge_score"]["mean"] == (5 + 1 + 1 + 5 + 1) / 5
    rt.db.dispose()


async def test_unparseable_judge_answers_are_judge_failures(eval_home: Path, quiz: QuizProvider) -> None:
    from promptyard.evals.model import DatasetItem, ModelAnswer
    from promptyard.evals.service import EvalOptions

    rt = Runtime()
    rt.evals.datasets.add_file("qa", eval_home / "qa.jsonl", actor="t")

    async def sometimes_broken(item: DatasetItem) -> ModelAnswer:
        return ModelAnswer(text="BROKEN" if item.item_id in {"q1", "q2"} else f"answer {item.item_id[1:]}")

    outcome = await rt.evals.run(
        "qa@1.0.0", "qa", EvalOptions(judge="judge_answer@1.0.0", concurrency=2), call=sometimes_broken
    )
    failed = {r.item_id: r.judge for r in outcome.results if r.judge and r.judge.status == "failed"}
    assert set(failed) == {"q1", "q2"}
    assert all(v is not None and v.score is None and v.error for v in failed.values())
    agg = outcome.run.aggregates or {}
    assert agg["judge"]["failures"] == 2
    assert agg["metrics"]["judge_score"] == {"mean": 5.0, "n": 10}  # failures are not zeros
    report = await asyncio.to_thread(Path(outcome.run.report_path or "").read_text)
    assert "judge failures: 2" in report
    await rt.aclose()


def test_batch_run_estimates_runs_and_resumes(eval_home: Path, quiz: QuizProvider) -> None:
    rows = eval_home / "rows.jsonl"
    rows.write_text("".join(json.dumps({"id": f"r{n}", "question": f"question {n}?"}) + "\n" for n in range(6)))
    out = eval_home / "out.jsonl"
    code, stdout, err = invoke("batch", "run", "qa@production", "--input", str(rows), "--output", str(out))
    assert code == 0, err
    assert "estimated $0.0000" in stdout
    assert "no price for this model" in stdout
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == [f"r{n}" for n in range(6)]
    assert [line["output"] for line in lines] == [f"answer {n}" for n in range(6)]
    assert all(line["status"] == "ok" and line["trace_id"] for line in lines)
    # A completed batch with the same input and output is a new run (nothing to resume).
    code, stdout, _ = invoke("batch", "run", "qa@production", "--input", str(rows), "--output", str(out))
    assert code == 0
    assert "resumed" not in stdout


async def test_batch_resumes_after_a_crash(eval_home: Path) -> None:
    from promptyard.evals.datasets import content_hash, read_dataset_file
    from promptyard.evals.model import DatasetItem, ModelAnswer
    from promptyard.evals.service import EvalOptions

    rows = eval_home / "rows.jsonl"
    await asyncio.to_thread(
        rows.write_text, "".join(json.dumps({"question": f"question {n}?"}) + "\n" for n in range(8))
    )
    items = read_dataset_file(rows)
    out = eval_home / "out.jsonl"
    rt = Runtime()
    spec = rt.evals.resolve_prompt("qa@production")
    calls: list[str] = []

    async def crash_after_three(item: DatasetItem) -> ModelAnswer:
        if len(calls) == 3:
            raise RuntimeError("killed")
        calls.append(item.item_id)
        return ModelAnswer(text=f"out {item.item_id}")

    options = EvalOptions(concurrency=1)
    with pytest.raises(RuntimeError):
        await rt.evals.batch(
            spec, items, input_hash=content_hash(items), output=out, options=options, call=crash_after_three
        )
    assert not out.exists()  # the output is only written complete

    async def fine(item: DatasetItem) -> ModelAnswer:
        calls.append(item.item_id)
        return ModelAnswer(text=f"out {item.item_id}")

    done = await rt.evals.batch(spec, items, input_hash=content_hash(items), output=out, options=options, call=fine)
    assert done.outcome.resumed
    assert done.outcome.already_done == 3
    assert calls == [f"line-{n}" for n in range(1, 9)]  # each row called exactly once over both runs
    lines = [json.loads(line) for line in (await asyncio.to_thread(out.read_text)).splitlines()]
    assert [line["output"] for line in lines] == [f"out line-{n}" for n in range(1, 9)]
    await rt.aclose()


def test_judge_on_another_model(eval_home: Path, quiz: QuizProvider) -> None:
    assert invoke("datasets", "add", "qa", "qa.jsonl")[0] == 0
    code, _, err = invoke(
        "eval", "run", "-p", "qa@1.0.0", "-d", "qa", "--limit", "3", "--judge-model", "quiz/big-judge"
    )
    assert code == 0, err
    judged = [r for r in quiz.requests if r.model == "big-judge"]
    assert len(judged) == 3  # the rubric rendered here and sent to the chosen model
    assert judged[0].response_format is not None
    assert judged[0].response_format.type == "json_schema"
    rt = Runtime()
    [run] = rt.evals.runs.list_runs(prompt_name="qa")
    assert run.config.judge_model == "quiz/big-judge"
    assert (run.aggregates or {})["metrics"]["judge_score"] == {"mean": 5.0, "n": 3}
    rt.db.dispose()


def test_batch_asks_before_an_expensive_run(
    eval_home: Path, quiz: QuizProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from promptyard.settings import get_settings

    prices = eval_home / "prices.json"
    prices.write_text(json.dumps({"providers": {"quiz": {"models": {"quiz-1": {"input": 5000.0, "output": 5000.0}}}}}))
    monkeypatch.setenv("PROMPTYARD_PRICES_FILE", str(prices))
    get_settings.cache_clear()
    rows = eval_home / "rows.jsonl"
    rows.write_text("".join(json.dumps({"question": f"question {n}?"}) + "\n" for n in range(4)))
    out = eval_home / "out.jsonl"
    args = ["batch", "run", "qa@production", "-i", str(rows), "-o", str(out), "--confirm-above", "0.5"]
    declined = CliRunner().invoke(app, args, input="n\n")
    assert declined.exit_code == 1
    assert "estimated $" in declined.stdout
    assert "Start the batch?" in declined.stdout
    assert "batch not started" in declined.stderr
    assert quiz.requests == []
    assert not out.exists()
    accepted = CliRunner().invoke(app, [*args, "--yes"])
    assert accepted.exit_code == 0, accepted.output
    assert len(quiz.requests) == 4
