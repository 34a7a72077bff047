"""Rich views for the eval commands: the progress bar, metric tables, the comparison table."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress
from rich.table import Table

from promptyard.cli.common import console, err_console
from promptyard.evals.compare import Comparison
from promptyard.evals.model import ItemResult
from promptyard.evals.report import metric_order
from promptyard.evals.runner import RunOutcome


class Progress:
    """A rich progress bar (on stderr) implementing the runner's ProgressHook."""

    def __init__(self, title: str) -> None:
        self._title = title
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=False,
        )
        self._task: Any = None
        self._errors = 0
        self._live = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if self._live:
            self._bar.stop()
            self._live = False

    def start(self, total: int, done: int) -> None:
        if not self._live:
            self._bar.start()
            self._live = True
        status = f"resumed at {done}" if done else ""
        self._task = self._bar.add_task(self._title, total=total, completed=done, status=status)
        if done >= total:
            self.stop()

    def advance(self, result: ItemResult) -> None:
        if result.status == "error":
            self._errors += 1
        status = f"[red]{self._errors} errors[/]" if self._errors else ""
        self._bar.update(self._task, advance=1, status=status)
        if self._bar.tasks[0].finished:
            self.stop()


def metrics_table(aggregates: dict[str, Any], title: str | None = None) -> Table:
    table = Table("metric", "mean", "items", title=title)
    metrics: dict[str, dict[str, float]] = aggregates.get("metrics", {})
    for name in metric_order(list(metrics)):
        table.add_row(name, f"{metrics[name]['mean']:.4f}", str(int(metrics[name]["n"])))
    latency = aggregates.get("latency_ms", {})
    table.caption = (
        f"items {aggregates.get('items', 0)} (ok {aggregates.get('ok', 0)}, errors {aggregates.get('errors', 0)}, "
        f"skipped {aggregates.get('skipped', 0)}) · cost ${aggregates.get('cost_usd', 0.0):.6f} · "
        f"tokens {aggregates.get('input_tokens', 0)} in / {aggregates.get('output_tokens', 0)} out · "
        f"latency p50 {latency.get('p50', 0.0):.0f} ms, p95 {latency.get('p95', 0.0):.0f} ms · "
        f"cache hits {aggregates.get('cache_hits', 0)}"
    )
    return table


def print_outcome(outcome: RunOutcome) -> None:
    run = outcome.run
    how = f"resumed ({outcome.already_done} items were done)" if outcome.resumed else "new run"
    console.print(f"[bold]{run.run_id}[/] {run.prompt_ref} on {run.dataset_ref}: {run.status}, {how}")
    if run.aggregates:
        console.print(metrics_table(run.aggregates))
        judge = run.aggregates.get("judge")
        if judge:
            line = f"judge {judge['prompt']}: {judge['failures']} judge failure(s)"
            agreed = judge.get("agreement")
            if agreed:
                line += (
                    f"; agreement with {agreed['n']} human labels: exact {agreed['exact']:.2f}, "
                    f"within one {agreed['within_one']:.2f}, kappa {agreed['kappa']}"
                )
            console.print(line)
    for problem in outcome.invalid[:20]:
        err_console.print(f"[yellow]skipped[/] {problem}")
    if run.report_path:
        console.print(f"scoreboard: [bold]{run.report_path}[/]")


def comparison_table(c: Comparison) -> Table:
    table = Table(
        "metric",
        "n",
        c.prompt_a,
        c.prompt_b,
        "delta",
        "95% CI",
        title=f"{c.prompt_b} vs {c.prompt_a} on {c.dataset}",
    )
    for m in sorted(c.metrics, key=lambda m: metric_order([x.metric for x in c.metrics]).index(m.metric)):
        style = "green" if m.delta > 0 else "red" if m.delta < 0 else ""
        name = f"[bold]{m.metric}[/] (primary)" if m.metric == c.primary else m.metric
        delta = f"[{style}]{m.delta:+.4f}[/]" if style else f"{m.delta:+.4f}"
        table.add_row(name, str(m.n), f"{m.a:.4f}", f"{m.b:.4f}", delta, f"[{m.ci_low:+.4f}, {m.ci_high:+.4f}]")
    table.caption = (
        f"{c.primary}: {c.wins} wins, {c.losses} losses, {c.ties} ties · errors {c.errors_a} → {c.errors_b} · "
        f"cost ${c.cost_a:.6f} → ${c.cost_b:.6f} · mean latency {c.latency_a_ms:.0f} → {c.latency_b_ms:.0f} ms"
    )
    return table
