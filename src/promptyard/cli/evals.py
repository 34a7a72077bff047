"""``promptyard eval`` and ``promptyard batch`` (datasets: :mod:`promptyard.cli.datasets`).

Thin: every command calls :class:`~promptyard.evals.service.Evals` (``runtime().evals``).
Exit codes: 0 success, 1 error, 2 usage, 3 ``eval compare`` found a regression (the CI
gate), 130 interrupted (run the same command again to resume).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Column, Table

from promptyard.cli.common import cli_errors, console, err_console, fail, runtime
from promptyard.cli.evals_view import Progress, comparison_table, metrics_table, print_outcome
from promptyard.evals.compare import DEFAULT_THRESHOLD
from promptyard.evals.datasets import content_hash
from promptyard.evals.judge import DEFAULT_JUDGE_PROMPT
from promptyard.evals.report import render_comparison, write_text_atomic
from promptyard.evals.service import EvalOptions, summary_line
from promptyard.runtime import Runtime

T = TypeVar("T")
REGRESSION_EXIT = 3

eval_app = typer.Typer(
    help="Evaluate prompt versions on datasets and compare them (the CI gate).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
batch_app = typer.Typer(
    help="Run a prompt over every row of a file (resumable, cost estimate first).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

Concurrency = Annotated[int, typer.Option("--concurrency", "-c", min=1, max=256, help="Items in flight at once.")]
Limit = Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Only the first N rows.")]
SkipInvalid = Annotated[
    bool, typer.Option("--skip-invalid", help="Skip rows that lack prompt variables instead of stopping.")
]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Do not read or write the answer cache.")]
Judge = Annotated[bool, typer.Option("--judge", help="Also grade every answer with the LLM judge rubric.")]
JudgePrompt = Annotated[str, typer.Option("--judge-prompt", help="Judge rubric NAME@VERSION.")]
JudgeModel = Annotated[
    str | None, typer.Option("--judge-model", help="Judge with this provider/model (default: the rubric's own model).")
]
Corpus = Annotated[str | None, typer.Option("--corpus", help="Evaluate as RAG over this corpus.")]
TopK = Annotated[int | None, typer.Option("--top-k", min=1, help="Chunks retrieved per question (RAG).")]
NewRun = Annotated[bool, typer.Option("--new", help="Start a fresh run even if an interrupted one can resume.")]
ReportsDir = Annotated[Path, typer.Option("--reports-dir", help="Where the Markdown scoreboards go.")]


def _run(rt: Runtime, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro``, then close the runtime (flushes traces) on the same loop. Ctrl-C exits 130."""

    async def main() -> T:
        try:
            return await coro
        finally:
            await rt.aclose()

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted:[/] finished items are saved; run the same command again to resume")
        raise typer.Exit(130) from None


def _options(
    *,
    concurrency: int,
    limit: int | None,
    skip_invalid: bool,
    no_cache: bool,
    judge: bool,
    judge_prompt: str,
    judge_model: str | None,
    corpus: str | None,
    top_k: int | None,
    new: bool,
) -> EvalOptions:
    return EvalOptions(
        concurrency=concurrency,
        limit=limit,
        skip_invalid=skip_invalid,
        use_cache=not no_cache,
        judge=judge_prompt if judge or judge_model else None,
        judge_model=judge_model,
        corpus=corpus,
        top_k=top_k,
        new_run=new,
    )


# ---- eval ------------------------------------------------------------------------------
@eval_app.command("run")
@cli_errors
def eval_run(
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="NAME@VERSION (or NAME@LABEL) to evaluate.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset NAME or NAME@VERSION.")],
    concurrency: Concurrency = 4,
    limit: Limit = None,
    skip_invalid: SkipInvalid = False,
    no_cache: NoCache = False,
    judge: Judge = False,
    judge_prompt: JudgePrompt = DEFAULT_JUDGE_PROMPT,
    judge_model: JudgeModel = None,
    corpus: Corpus = None,
    top_k: TopK = None,
    new: NewRun = False,
    reports_dir: ReportsDir = Path("reports"),
) -> None:
    """Evaluate a prompt version on a dataset; resumes an interrupted run with the same options.

    Rows lacking a variable the prompt needs are listed with their lines, and nothing runs (unless --skip-invalid).

    Each item is stored as it finishes; the Markdown scoreboard goes to REPORTS_DIR/<run-id>.md.
    """
    rt = runtime()
    evals = rt.evals
    evals.reports_dir = reports_dir
    options = _options(
        concurrency=concurrency,
        limit=limit,
        skip_invalid=skip_invalid,
        no_cache=no_cache,
        judge=judge,
        judge_prompt=judge_prompt,
        judge_model=judge_model,
        corpus=corpus,
        top_k=top_k,
        new=new,
    )
    with Progress(f"{prompt} on {dataset}") as progress:
        outcome = _run(rt, evals.run(prompt, dataset, options, progress=progress))
    print_outcome(outcome)


@eval_app.command("compare")
@cli_errors
def eval_compare(
    a: Annotated[str, typer.Argument(help="Baseline NAME@VERSION (or NAME@LABEL).")],
    b: Annotated[str, typer.Argument(help="Candidate NAME@VERSION (or NAME@LABEL).")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset NAME or NAME@VERSION.")],
    metric: Annotated[
        str | None, typer.Option("--metric", "-m", help="Primary metric (default: f1, recall@5, ...).")
    ] = None,
    threshold: Annotated[
        float, typer.Option("--threshold", "-t", min=0.0, help="Allowed drop of the primary metric before failing.")
    ] = DEFAULT_THRESHOLD,
    rerun: Annotated[bool, typer.Option("--rerun", help="Run both again even if completed runs exist.")] = False,
    concurrency: Concurrency = 4,
    limit: Limit = None,
    skip_invalid: SkipInvalid = False,
    no_cache: NoCache = False,
    judge: Judge = False,
    judge_prompt: JudgePrompt = DEFAULT_JUDGE_PROMPT,
    judge_model: JudgeModel = None,
    corpus: Corpus = None,
    top_k: TopK = None,
    reports_dir: ReportsDir = Path("reports"),
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the comparison as Markdown (for a PR comment).")
    ] = None,
) -> None:
    """Compare two versions on one dataset: deltas with bootstrap 95% CIs, wins and losses.

    Reuses completed runs with the same options and runs what is missing.

    Exits 3 when the primary metric drops by more than --threshold (the CI gate), 0 otherwise.
    """
    rt = runtime()
    evals = rt.evals
    evals.reports_dir = reports_dir
    options = _options(
        concurrency=concurrency,
        limit=limit,
        skip_invalid=skip_invalid,
        no_cache=no_cache,
        judge=judge,
        judge_prompt=judge_prompt,
        judge_model=judge_model,
        corpus=corpus,
        top_k=top_k,
        new=False,
    )
    comparison = _run(
        rt,
        evals.compare(
            a, b, dataset, options, metric=metric, threshold=threshold, rerun=rerun, progress=lambda ref: Progress(ref)
        ),
    )
    console.print(comparison_table(comparison))
    if report is not None:
        write_text_atomic(report, render_comparison(comparison))
        console.print(f"comparison: [bold]{report}[/]")
    if comparison.primary is None:
        raise fail("no metric to compare: the runs have no scores in common")
    if comparison.regressed:
        delta = comparison.primary_delta
        err_console.print(
            f"[bold red]regression:[/] {comparison.primary} {delta.delta:+.4f} is below -{threshold} "
            f"({comparison.prompt_b} vs {comparison.prompt_a})"
            if delta
            else "[bold red]regression[/]"
        )
        raise typer.Exit(REGRESSION_EXIT)
    console.print(f"[green]ok:[/] {comparison.primary} did not drop by more than {threshold}")


@eval_app.command("runs")
@cli_errors
def eval_runs(
    prompt: Annotated[str | None, typer.Argument(help="NAME or NAME@VERSION to filter by.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many runs.")] = 20,
) -> None:
    """List eval runs, newest first (runs are attached to their prompt version)."""
    name, _, version = (prompt or "").partition("@")
    runs = runtime().evals.runs.list_runs(prompt_name=name or None, prompt_version=version or None, limit=limit)
    table = Table("kind", "prompt", "dataset", "status", "items", "scores", "started")
    table.columns.insert(0, Column("run", no_wrap=True))
    for r in runs:
        table.add_row(
            r.run_id,
            r.kind,
            r.prompt_ref,
            r.dataset_ref or "-",
            r.status,
            str(r.total_items),
            summary_line(r.aggregates),
            f"{r.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@eval_app.command("show")
@cli_errors
def eval_show(run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")]) -> None:
    """Show one run's scores, cost and latency."""
    run = runtime().evals.runs.get(run_id)
    console.print(f"[bold]{run.run_id}[/] {run.prompt_ref} on {run.dataset_ref or '-'} ({run.status})")
    if run.aggregates:
        console.print(metrics_table(run.aggregates))
    if run.report_path:
        console.print(f"scoreboard: {run.report_path}")


# ---- batch -----------------------------------------------------------------------------
@batch_app.command("run")
@cli_errors
def batch_run(
    prompt: Annotated[str, typer.Argument(help="NAME@LABEL (or NAME@VERSION) to run.")],
    input_path: Annotated[Path, typer.Option("--input", "-i", help="Rows: .jsonl (one object per line) or .csv.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .jsonl, one line per input row, in order.")],
    concurrency: Concurrency = 4,
    limit: Limit = None,
    skip_invalid: SkipInvalid = False,
    no_cache: NoCache = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    confirm_above: Annotated[
        float,
        typer.Option("--confirm-above", min=0.0, help="Ask before starting when the estimate exceeds this (USD)."),
    ] = 1.0,
    new: NewRun = False,
) -> None:
    """Run a prompt over every row of a file; resumable, with a cost estimate before starting."""
    rt = runtime()
    evals = rt.evals
    spec, items = evals.read_batch(prompt, input_path)
    chosen = items[:limit] if limit is not None else items
    estimate = evals.estimate(spec, chosen)
    priced = "" if estimate.priced else " (no price for this model: counted as $0)"
    console.print(
        f"{spec.ref} on {len(chosen)} rows: about {estimate.input_tokens:,} input + up to "
        f"{estimate.output_tokens:,} output tokens on {estimate.provider}/{estimate.model}, "
        f"estimated [bold]${estimate.cost_usd:.4f}[/]{priced}"
    )
    if estimate.cost_usd > confirm_above and not yes and not typer.confirm("Start the batch?", default=False):
        raise fail("batch not started", code=1)
    options = EvalOptions(
        concurrency=concurrency, limit=limit, skip_invalid=skip_invalid, use_cache=not no_cache, new_run=new
    )
    with Progress(f"batch {spec.ref}") as progress:
        done = _run(
            rt,
            evals.batch(spec, items, input_hash=content_hash(items), output=output, options=options, progress=progress),
        )
    agg = done.outcome.run.aggregates or {}
    resumed = f" (resumed; {done.outcome.already_done} were done)" if done.outcome.resumed else ""
    console.print(
        f"wrote {done.lines} lines to [bold]{done.output}[/]{resumed}: ok {agg.get('ok', 0)}, "
        f"errors {agg.get('errors', 0)}, skipped {agg.get('skipped', 0)}, cost ${agg.get('cost_usd', 0.0):.4f}"
    )
    for problem in done.outcome.invalid[:20]:
        err_console.print(f"[yellow]skipped[/] {problem}")
