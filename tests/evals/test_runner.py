"""The runner: bounded concurrency, bad rows stop the run first, errors recorded, resume without duplicates."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from promptyard.errors import ProviderUnavailable
from promptyard.evals.datasets import InvalidDataset
from promptyard.evals.model import DatasetItem, ItemResult, ModelAnswer, RunConfig
from promptyard.evals.runner import EvalRunner, requires
from promptyard.evals.runs import RunStore
from promptyard.evals.scoring import Scorer
from promptyard.store.db import Database
from promptyard.store.tables.evals import EvalResultRow

CONFIG = RunConfig(prompt_name="qa", prompt_version="1.0.0", dataset_name="qa", dataset_version=1)


class FakeModel:
    """Answers item n correctly when n is even, retrieves doc-n at rank 2; can fail after N calls."""

    def __init__(self, *, fail_after: int | None = None, delay: float = 0.0) -> None:
        self.calls: list[str] = []
        self.fail_after = fail_after
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, item: DatasetItem) -> ModelAnswer:
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise RuntimeError("simulated crash")
        self.calls.append(item.item_id)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        n = int(item.item_id[1:])
        text = f"answer {n}" if n % 2 == 0 else "something else"
        return ModelAnswer(
            text=text,
            retrieved_doc_ids=["noise", f"doc-{n}"],
            input_tokens=10,
            output_tokens=3,
            cost_usd=0.001,
            latency_ms=5.0,
        )


class Counter:
    def __init__(self) -> None:
        self.total = self.done = 0
        self.seen: list[ItemResult] = []

    def start(self, total: int, done: int) -> None:
        self.total, self.done = total, done

    def advance(self, result: ItemResult) -> None:
        self.seen.append(result)


def result_rows(db: Database, run_id: str) -> tuple[int, int]:
    with db.session() as s:
        rows = s.scalar(select(func.count()).select_from(EvalResultRow).where(EvalResultRow.run_id == run_id))
        distinct = s.scalar(
            select(func.count(func.distinct(EvalResultRow.item_id))).where(EvalResultRow.run_id == run_id)
        )
    return int(rows or 0), int(distinct or 0)


async def test_full_run_scores_aggregates_and_writes_the_scoreboard(
    db: Database, qa_items: list[DatasetItem], tmp_path: Path
) -> None:
    model = FakeModel(delay=0.001)
    runner = EvalRunner(RunStore(db), call=model, scorer=Scorer(ks=[1, 5]), reports_dir=tmp_path / "reports")
    progress = Counter()
    outcome = await runner.run(CONFIG, qa_items, check=requires("question"), concurrency=3, progress=progress)
    assert outcome.run.status == "completed"
    assert not outcome.resumed
    assert model.max_in_flight <= 3
    assert progress.total == 12
    assert len(progress.seen) == 12
    agg = outcome.run.aggregates or {}
    assert agg["ok"] == 12
    assert agg["errors"] == 0
    assert agg["metrics"]["exact_match"]["mean"] == pytest.approx(0.5)
    assert agg["metrics"]["recall@1"]["mean"] == 0.0
    assert agg["metrics"]["mrr"]["mean"] == pytest.approx(0.5)
    assert agg["metrics"]["abstention_correct"]["mean"] == 1.0
    assert agg["cost_usd"] == pytest.approx(0.012)
    assert agg["input_tokens"] == 120
    report = Path(outcome.run.report_path or "")
    assert report == tmp_path / "reports" / f"{outcome.run.run_id}.md"
    text = await asyncio.to_thread(report.read_text)
    assert "| exact_match | 0.5000 | 12 |" in text
    assert "## Lowest f1" in text
    assert "status: completed" in text


async def test_rows_missing_variables_stop_the_run_before_any_call(db: Database, qa_items: list[DatasetItem]) -> None:
    items = [*qa_items[:3], DatasetItem(item_id="bad", line=9, inputs={"q": "typo"}, expected=["x"])]
    model = FakeModel()
    runner = EvalRunner(RunStore(db), call=model, scorer=Scorer())
    with pytest.raises(InvalidDataset) as info:
        await runner.run(CONFIG, items, check=requires("question"))
    assert info.value.problems == ["line 9 (id 'bad'): missing variable 'question'"]
    assert model.calls == []
    assert RunStore(db).list_runs() == []  # nothing half-written

    skipping = CONFIG.model_copy(update={"skip_invalid": True})
    outcome = await runner.run(skipping, items, check=requires("question"))
    assert sorted(model.calls) == ["q0", "q1", "q2"]
    assert outcome.invalid == info.value.problems
    statuses = {r.item_id: r.status for r in outcome.results}
    assert statuses == {"q0": "ok", "q1": "ok", "q2": "ok", "bad": "skipped"}


async def test_model_errors_are_recorded_per_item_and_retried_on_resume(
    db: Database, qa_items: list[DatasetItem]
) -> None:
    flaky_ids = {"q3", "q7"}

    async def flaky(item: DatasetItem) -> ModelAnswer:
        if item.item_id in flaky_ids:
            raise ProviderUnavailable("upstream 529", provider="fake", status=529)
        return ModelAnswer(text="answer 0")

    store = RunStore(db)
    first = await EvalRunner(store, call=flaky, scorer=Scorer()).run(CONFIG, qa_items)
    agg = first.run.aggregates or {}
    assert agg["errors"] == 2
    assert agg["ok"] == 10
    errors = [r for r in first.results if r.status == "error"]
    assert {r.item_id for r in errors} == flaky_ids
    assert all("ProviderUnavailable: upstream 529" in (r.error or "") for r in errors)


async def test_interrupted_run_resumes_with_same_count_and_no_duplicates(
    any_db: Database, qa_items: list[DatasetItem]
) -> None:
    db = any_db
    store = RunStore(db)
    crashing = FakeModel(fail_after=5)
    with pytest.raises(RuntimeError, match="simulated crash"):
        await EvalRunner(store, call=crashing, scorer=Scorer()).run(CONFIG, qa_items, concurrency=2)
    [run] = store.list_runs()
    assert run.status == "interrupted"
    done_before = store.done_ids(run.run_id)
    assert 1 <= len(done_before) <= 5

    healthy = FakeModel()
    outcome = await EvalRunner(store, call=healthy, scorer=Scorer()).run(CONFIG, qa_items, concurrency=2)
    assert outcome.resumed
    assert outcome.run.run_id == run.run_id
    assert outcome.already_done == len(done_before)
    assert not set(healthy.calls) & done_before  # done items are not called again
    assert len(healthy.calls) == 12 - len(done_before)
    assert outcome.run.status == "completed"
    assert (outcome.run.aggregates or {})["items"] == 12
    assert result_rows(db, run.run_id) == (12, 12)
    assert len(store.list_runs()) == 1


async def test_cancelled_run_resumes(db: Database, qa_items: list[DatasetItem]) -> None:
    """A run cancelled from outside (Ctrl-C, a killed task) after N items picks up where it stopped."""
    store = RunStore(db)
    model = FakeModel(delay=0.005)
    progress = Counter()
    reached = asyncio.Event()

    class StopAfterFour(Counter):
        def advance(self, result: ItemResult) -> None:
            super().advance(result)
            if len(self.seen) == 4:
                reached.set()

    progress = StopAfterFour()
    task = asyncio.create_task(
        EvalRunner(store, call=model, scorer=Scorer()).run(CONFIG, qa_items, concurrency=3, progress=progress)
    )
    await asyncio.wait_for(reached.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [run] = store.list_runs()
    assert run.status == "interrupted"
    done_before = store.done_ids(run.run_id)
    assert len(done_before) >= 4

    outcome = await EvalRunner(store, call=FakeModel(), scorer=Scorer()).run(CONFIG, qa_items)
    assert outcome.resumed
    assert (outcome.run.aggregates or {})["ok"] == 12
    assert result_rows(db, run.run_id) == (12, 12)


async def test_a_second_save_of_a_finished_item_is_refused(any_db: Database, qa_items: list[DatasetItem]) -> None:
    from promptyard.errors import StoreError

    db = any_db
    store = RunStore(db)
    outcome = await EvalRunner(store, call=FakeModel(), scorer=Scorer()).run(CONFIG, qa_items[:2])
    with pytest.raises(StoreError):
        store.save(outcome.run.run_id, outcome.results[0])
    assert result_rows(db, outcome.run.run_id) == (2, 2)


async def test_new_config_means_new_run_and_completed_runs_are_not_resumed(
    db: Database, qa_items: list[DatasetItem]
) -> None:
    store = RunStore(db)
    first = await EvalRunner(store, call=FakeModel(), scorer=Scorer()).run(CONFIG, qa_items[:3])
    again = await EvalRunner(store, call=FakeModel(), scorer=Scorer()).run(CONFIG, qa_items[:3])
    assert first.run.run_id != again.run.run_id
    assert not again.resumed
    limited = await EvalRunner(store, call=FakeModel(), scorer=Scorer()).run(
        CONFIG.model_copy(update={"limit": 2}), qa_items
    )
    assert (limited.run.aggregates or {})["items"] == 2
