"""The eval runner: bounded concurrency, per-item commits, resume after interruption.

The model call is injected (:data:`~promptyard.evals.model.CallFn`), so the runner is the
same for a prompt through the gateway, a RAG answer, a batch job or a test fake.

Order of work for one run:

1. check every selected row has the variables the target needs; problems name their
   lines and stop the run before any model is called (unless ``skip_invalid``);
2. find an unfinished run with the same config and resume it, or create a new one;
3. run the items not yet done, ``concurrency`` at a time; each finished item is scored,
   judged and committed at once;
4. aggregate, write the Markdown scoreboard and mark the run completed.

A :class:`~promptyard.errors.PromptyardError` from the model (provider down, output
invalid) is recorded as an error result for that item; any other exception (or a
cancellation) stops the run, which is marked ``interrupted`` and resumes next time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from promptyard.errors import PromptyardError
from promptyard.evals.datasets import InvalidDataset
from promptyard.evals.judge import Judge, judge_summary
from promptyard.evals.model import CallFn, DatasetItem, ItemResult, RunConfig, RunInfo
from promptyard.evals.report import write_report
from promptyard.evals.runs import RunStore
from promptyard.evals.scoring import Scorer, aggregate

RowCheck = Callable[[DatasetItem], list[str]]


class ProgressHook(Protocol):
    """Told about progress; the CLI draws a rich progress bar with it."""

    def start(self, total: int, done: int) -> None: ...

    def advance(self, result: ItemResult) -> None: ...


@dataclass
class RunOutcome:
    run: RunInfo
    results: list[ItemResult]
    resumed: bool
    """True when an interrupted run was picked up."""
    already_done: int
    """Items that were done before this invocation started."""
    invalid: list[str] = field(default_factory=list)
    """Rows skipped because they lacked variables (``skip_invalid``)."""


async def run_bounded(
    items: Iterable[DatasetItem], work: Callable[[DatasetItem], Awaitable[None]], *, concurrency: int
) -> None:
    """Run ``work`` over ``items`` with at most ``concurrency`` in flight.

    The first exception cancels the rest and is re-raised as itself (not as a group).
    """
    queue = iter(items)

    async def worker() -> None:
        for item in queue:  # a shared iterator: no await between next() calls, so no item is taken twice
            await work(item)

    try:
        async with asyncio.TaskGroup() as tg:
            for _ in range(max(1, concurrency)):
                tg.create_task(worker())
    except BaseExceptionGroup as group:
        first = group.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


def requires(*names: str) -> RowCheck:
    """A row check that only asks for the named inputs to be present (for injected targets)."""

    def check(item: DatasetItem) -> list[str]:
        return [f"missing variable {name!r}" for name in names if item.inputs.get(name) is None]

    return check


def row_problems(items: Iterable[DatasetItem], check: RowCheck) -> dict[str, list[str]]:
    """``item_id -> problems`` for every row the check refuses, each problem naming its line."""
    found: dict[str, list[str]] = {}
    for item in items:
        problems = check(item)
        if problems:
            where = f"line {item.line}" if item.line else f"item {item.item_id!r}"
            found[item.item_id] = [f"{where} (id {item.item_id!r}): {p}" for p in problems]
    return found


def select_items(
    items: Sequence[DatasetItem], *, check: RowCheck | None, limit: int | None, skip_invalid: bool
) -> tuple[list[DatasetItem], dict[str, list[str]]]:
    """The items to run (the first ``limit``), and the problems of rows left out as invalid.

    Raises :class:`InvalidDataset` listing every refused row with its line, before any
    model is called, unless ``skip_invalid``: then those rows are left out.
    """
    chosen = list(items[:limit] if limit is not None else items)
    bad = row_problems(chosen, check) if check is not None else {}
    if bad and not skip_invalid:
        raise InvalidDataset(
            "dataset rows lack what the prompt needs; no model was called",
            [p for problems in bad.values() for p in problems],
            hint="fix those rows, or pass --skip-invalid to run the others",
        )
    return [item for item in chosen if item.item_id not in bad], bad


class EvalRunner:
    """Runs one :class:`RunConfig` over dataset items with an injected model call."""

    def __init__(
        self,
        store: RunStore,
        *,
        call: CallFn,
        scorer: Scorer | None = None,
        judge: Judge | None = None,
        actor: str = "promptyard",
        reports_dir: Path | None = None,
    ) -> None:
        self._store = store
        self._call = call
        self._scorer = scorer
        self._judge = judge
        self._actor = actor
        self._reports_dir = reports_dir

    async def run(
        self,
        config: RunConfig,
        items: Sequence[DatasetItem],
        *,
        check: RowCheck | None = None,
        concurrency: int = 4,
        progress: ProgressHook | None = None,
        resume: bool = True,
    ) -> RunOutcome:
        chosen, invalid = select_items(items, check=check, limit=config.limit, skip_invalid=config.skip_invalid)
        positions = {item.item_id: i for i, item in enumerate(items)}
        existing = self._store.find_resumable(config) if resume else None
        run = existing or self._store.create(config, total=len(chosen), actor=self._actor)
        done = self._store.done_ids(run.run_id) if existing else set()
        if existing is None:
            for item_id, problems in invalid.items():
                skipped = ItemResult(
                    item_id=item_id, position=positions[item_id], status="skipped", error="; ".join(problems)
                )
                self._store.save(run.run_id, skipped)
        todo = [item for item in chosen if item.item_id not in done]
        if progress is not None:
            progress.start(len(chosen), len(chosen) - len(todo))

        async def work(item: DatasetItem) -> None:
            result = await self._one(item, positions[item.item_id])
            self._store.save(run.run_id, result)
            if progress is not None:
                progress.advance(result)

        try:
            await run_bounded(todo, work, concurrency=concurrency)
        except BaseException:
            self._store.set_status(run.run_id, "interrupted")
            raise
        results = self._store.results(run.run_id)
        aggregates = aggregate(results)
        if self._judge is not None:
            aggregates["judge"] = judge_summary(self._judge.name, results, items)
        report_path = self._reports_dir / f"{run.run_id}.md" if self._reports_dir is not None else None
        finished = self._store.finish(
            run.run_id, aggregates=aggregates, report_path=report_path.as_posix() if report_path else None
        )
        if report_path is not None:
            write_report(report_path, finished, results, items)
        return RunOutcome(
            run=finished,
            results=results,
            resumed=existing is not None,
            already_done=len(chosen) - len(todo),
            invalid=[p for problems in invalid.values() for p in problems],
        )

    async def _one(self, item: DatasetItem, position: int) -> ItemResult:
        started = time.perf_counter()
        try:
            answer = await self._call(item)
        except PromptyardError as exc:
            return ItemResult(
                item_id=item.item_id,
                position=position,
                status="error",
                error=f"{type(exc).__name__}: {exc}",
                latency_ms=(time.perf_counter() - started) * 1000,
                extra={"output": getattr(exc, "output", None)} if getattr(exc, "output", None) else {},
            )
        # Scoring runs off the event loop: ranx compiles its kernels on first use (a few seconds).
        metrics, extra = await asyncio.to_thread(self._scorer.score, item, answer) if self._scorer else ({}, {})
        if self._scorer is None and answer.parsed is not None:
            extra["parsed"] = answer.parsed
        verdict = await self._judge.judge(item, answer.text) if self._judge is not None else None
        return ItemResult(
            item_id=item.item_id,
            position=position,
            status="ok",
            output=answer.text,
            metrics=metrics,
            judge=verdict,
            extra=extra,
            cost_usd=answer.cost_usd,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            latency_ms=answer.latency_ms or (time.perf_counter() - started) * 1000,
            cache_hit=answer.cache_hit,
            trace_id=answer.trace_id,
        )
