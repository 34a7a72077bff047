"""The evals service: what the CLI, the HTTP API and benchmarks call.

It resolves prompt and dataset references, builds the target (a prompt through the
gateway, or a RAG answer), the scorer and the judge, and hands them to the runner.
Services it needs (registry, gateway, RAG) are given as zero-argument callables so they
are only built when a command needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptyard.errors import InvalidInput
from promptyard.evals.batch import CostEstimate, estimate_cost, write_output
from promptyard.evals.compare import DEFAULT_THRESHOLD, Comparison, compare_results, latest_delta
from promptyard.evals.dataset_store import DatasetStore
from promptyard.evals.datasets import read_dataset_file
from promptyard.evals.judge import Judge
from promptyard.evals.model import CallFn, DatasetItem, RunConfig, RunInfo
from promptyard.evals.rag_target import RAG_PROVIDED
from promptyard.evals.runner import EvalRunner, ProgressHook, RowCheck, RunOutcome
from promptyard.evals.runs import RunStore
from promptyard.evals.scoring import Scorer
from promptyard.evals.targets import gateway_judge, prompt_row_check, prompt_target
from promptyard.prompts.model import PromptSpec
from promptyard.prompts.refs import split_ref
from promptyard.store.db import Database

if TYPE_CHECKING:
    from promptyard.costs.prices import PriceTable
    from promptyard.gateway.base import GatewayAPI
    from promptyard.prompts.registry import PromptRegistry

#: Builds the target for a RAG run: (spec, corpus, top_k, use_cache) -> (call, variables the target fills).
RagTargetFactory = Callable[[PromptSpec, str, int | None, bool], tuple[CallFn, set[str]]]


@dataclass
class EvalOptions:
    """How to run an eval; everything except concurrency is part of the run's identity."""

    concurrency: int = 4
    limit: int | None = None
    skip_invalid: bool = False
    use_cache: bool = True
    judge: str | None = None
    """Judge rubric ``name@version`` (e.g. ``judge_answer@1.0.0``); unset: no judge."""
    judge_model: str | None = None
    corpus: str | None = None
    """Evaluate as RAG over this corpus (retrieval metrics, citations)."""
    top_k: int | None = None
    ks: Sequence[int] = (5, 10)
    new_run: bool = False
    """Start a fresh run even when an interrupted one with the same config exists."""


@dataclass
class BatchOutcome:
    outcome: RunOutcome
    output: Path
    lines: int


class Evals:
    def __init__(
        self,
        db: Database,
        *,
        registry: Callable[[], PromptRegistry],
        gateway: Callable[[], GatewayAPI],
        rag_target: RagTargetFactory | None = None,
        prices: Callable[[], PriceTable] | None = None,
        actor: str = "promptyard",
        reports_dir: Path | None = Path("reports"),
    ) -> None:
        self.db = db
        self.datasets = DatasetStore(db)
        self.runs = RunStore(db)
        self._registry = registry
        self._gateway = gateway
        self._rag_target = rag_target
        self._prices = prices
        self.actor = actor
        self.reports_dir = reports_dir

    # ---- references ---------------------------------------------------------------
    def resolve_prompt(self, ref: str) -> PromptSpec:
        """``NAME@VERSION`` or ``NAME@LABEL`` to a spec (a label is resolved to its version now)."""
        name, version, label = split_ref(ref)
        if version is None and label is None:
            raise InvalidInput(f"prompt reference {ref!r} names no version", hint="use NAME@VERSION or NAME@LABEL")
        return self._registry().lookup(name, version=version, label=label).spec

    def _judge(self, options: EvalOptions) -> Judge | None:
        if options.judge is None:
            return None
        spec = self.resolve_prompt(options.judge)
        return Judge(gateway_judge(self._gateway(), spec, model=options.judge_model), name=spec.ref)

    def _target(self, spec: PromptSpec, options: EvalOptions) -> tuple[CallFn, RowCheck]:
        if options.corpus is None:
            return prompt_target(self._gateway(), spec, use_cache=options.use_cache), prompt_row_check(spec)
        if self._rag_target is None:
            raise InvalidInput("RAG evaluation is not available here", hint="run without --corpus")
        call, provided = self._rag_target(spec, options.corpus, options.top_k, options.use_cache)
        return call, prompt_row_check(spec, provided=provided)

    def config_for(self, spec: PromptSpec, dataset_ref: str, options: EvalOptions) -> RunConfig:
        info = self.datasets.get(dataset_ref)
        return RunConfig(
            kind="eval",
            prompt_name=spec.name,
            prompt_version=spec.version,
            dataset_id=self.datasets.dataset_id(info.name, info.version),
            dataset_name=info.name,
            dataset_version=info.version,
            target="prompt" if options.corpus is None else "rag",
            corpus=options.corpus,
            top_k=options.top_k,
            ks=list(options.ks),
            judge=options.judge,
            judge_model=options.judge_model,
            use_cache=options.use_cache,
            limit=options.limit,
            skip_invalid=options.skip_invalid,
        )

    # ---- eval runs ----------------------------------------------------------------
    async def run(
        self,
        prompt_ref: str,
        dataset_ref: str,
        options: EvalOptions | None = None,
        *,
        progress: ProgressHook | None = None,
        call: CallFn | None = None,
    ) -> RunOutcome:
        """Evaluate ``prompt_ref`` on ``dataset_ref``; resumes an interrupted run with the same config.

        ``call`` replaces the gateway target (tests, custom pipelines).
        """
        options = options or EvalOptions()
        spec = self.resolve_prompt(prompt_ref)
        config = self.config_for(spec, dataset_ref, options)
        _, items = self.datasets.items(f"{config.dataset_name}@{config.dataset_version}")
        if call is None:
            call, check = self._target(spec, options)
        else:
            check = prompt_row_check(spec, provided=RAG_PROVIDED if options.corpus else ())
        runner = EvalRunner(
            self.runs,
            call=call,
            scorer=Scorer(ks=list(options.ks), output_schema=spec.output.json_schema),
            judge=self._judge(options),
            actor=self.actor,
            reports_dir=self.reports_dir,
        )
        return await runner.run(
            config,
            items,
            check=check,
            concurrency=options.concurrency,
            progress=progress,
            resume=not options.new_run,
        )

    def latest_completed(self, config: RunConfig) -> RunInfo | None:
        runs = self.runs.list_runs(
            prompt_name=config.prompt_name, prompt_version=config.prompt_version, status="completed", limit=500
        )
        wanted = config.config_hash()
        return next((r for r in runs if r.config.config_hash() == wanted), None)

    async def ensure_run(
        self,
        prompt_ref: str,
        dataset_ref: str,
        options: EvalOptions,
        *,
        rerun: bool = False,
        progress: ProgressHook | None = None,
    ) -> RunInfo:
        """The latest completed run with these options, running (or resuming) it when there is none."""
        spec = self.resolve_prompt(prompt_ref)
        if not rerun:
            done = self.latest_completed(self.config_for(spec, dataset_ref, options))
            if done is not None:
                return done
        outcome = await self.run(spec.ref, dataset_ref, options, progress=progress)
        return outcome.run

    async def compare(
        self,
        ref_a: str,
        ref_b: str,
        dataset_ref: str,
        options: EvalOptions | None = None,
        *,
        metric: str | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        rerun: bool = False,
        progress: Callable[[str], ProgressHook | None] | None = None,
    ) -> Comparison:
        """Compare two versions on one dataset version, running whatever is not run yet."""
        options = options or EvalOptions()
        info = self.datasets.get(dataset_ref)
        pinned = info.ref
        hook_a = progress(ref_a) if progress else None
        run_a = await self.ensure_run(ref_a, pinned, options, rerun=rerun, progress=hook_a)
        if self.resolve_prompt(ref_b).ref == run_a.prompt_ref:
            run_b = run_a
        else:
            run_b = await self.ensure_run(
                ref_b, pinned, options, rerun=rerun, progress=progress(ref_b) if progress else None
            )
        return compare_results(
            run_a,
            self.runs.results(run_a.run_id),
            run_b,
            self.runs.results(run_b.run_id),
            metric=metric,
            threshold=threshold,
        )

    def latest_delta(self, name: str, a: str, b: str, *, metric: str | None = None) -> Comparison | None:
        """The delta between the latest runs of ``name@a`` and ``name@b`` on a shared dataset, or None."""
        return latest_delta(self.db, name, a, b, metric=metric)

    # ---- batch ------------------------------------------------------------------------
    def read_batch(self, prompt_ref: str, input_path: Path) -> tuple[PromptSpec, list[DatasetItem]]:
        return self.resolve_prompt(prompt_ref), read_dataset_file(input_path)

    def estimate(self, spec: PromptSpec, items: Sequence[DatasetItem]) -> CostEstimate:
        """The batch's cost estimate, priced with the runtime's table (``PROMPTYARD_PRICES_FILE`` included)."""
        return estimate_cost(spec, items, prices=self._prices() if self._prices else None)

    async def batch(
        self,
        spec: PromptSpec,
        items: Sequence[DatasetItem],
        *,
        input_hash: str,
        output: Path,
        options: EvalOptions | None = None,
        progress: ProgressHook | None = None,
        call: CallFn | None = None,
    ) -> BatchOutcome:
        """Run ``spec`` over ``items`` and write ``output`` (JSONL, input order); resumable."""
        options = options or EvalOptions()
        config = batch_config(spec, input_hash=input_hash, output=output, options=options)
        runner = EvalRunner(
            self.runs,
            call=call or prompt_target(self._gateway(), spec, use_cache=options.use_cache),
            actor=self.actor,
        )
        outcome = await runner.run(
            config,
            items,
            check=prompt_row_check(spec),
            concurrency=options.concurrency,
            progress=progress,
            resume=not options.new_run,
        )
        chosen = list(items[: options.limit]) if options.limit is not None else list(items)
        lines = write_output(output, chosen, outcome.results)
        return BatchOutcome(outcome=outcome, output=output, lines=lines)


def batch_config(spec: PromptSpec, *, input_hash: str, output: Path, options: EvalOptions) -> RunConfig:
    """A batch run's identity: prompt version, input content, output file and options."""
    return RunConfig(
        kind="batch",
        prompt_name=spec.name,
        prompt_version=spec.version,
        input_hash=input_hash,
        output_path=str(output.resolve()),
        use_cache=options.use_cache,
        limit=options.limit,
        skip_invalid=options.skip_invalid,
        ks=[],
    )


def summary_line(aggregates: dict[str, Any] | None, names: Sequence[str] = ("f1", "exact_match", "recall@5")) -> str:
    """A one-line summary of a run's headline metrics (for listings)."""
    metrics = (aggregates or {}).get("metrics", {})
    parts = [f"{n} {metrics[n]['mean']:.3f}" for n in names if n in metrics]
    return ", ".join(parts) or "-"
