"""Version against version: paired deltas with bootstrap confidence intervals, and the CI gate.

Two runs over the same dataset version are paired by item id. For each metric the delta
is ``mean(B) - mean(A)`` over the items both runs scored, with a paired bootstrap 95 %
confidence interval (items resampled with replacement, seeded numpy generator). An item
that errored in one run and not the other scores 0 there for the quality metrics, so a
version that breaks items cannot look better by dropping them; error counts are shown.

The gate: ``regressed`` is true when the primary metric's delta is below ``-threshold``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from promptyard.evals.model import ItemResult, RunInfo
from promptyard.evals.runs import RunStore
from promptyard.evals.scoring import primary_metric
from promptyard.store.db import Database

if TYPE_CHECKING:
    from promptyard.prompts.diff import EvalDeltaRow

DEFAULT_THRESHOLD = 0.01
BOOTSTRAP_RESAMPLES = 2000
_NOT_SCORED_ON_ERROR = {"abstained", "judge_score"}


class MetricDelta(BaseModel):
    metric: str
    n: int
    a: float
    b: float
    delta: float
    ci_low: float
    ci_high: float


class ItemChange(BaseModel):
    item_id: str
    a: float
    b: float


class Comparison(BaseModel):
    prompt_a: str
    prompt_b: str
    dataset: str | None
    run_a: str
    run_b: str
    primary: str | None
    threshold: float
    metrics: list[MetricDelta] = Field(default_factory=list)
    wins: int = 0
    """Items where B beats A on the primary metric."""
    losses: int = 0
    ties: int = 0
    biggest_losses: list[ItemChange] = Field(default_factory=list)
    biggest_wins: list[ItemChange] = Field(default_factory=list)
    errors_a: int = 0
    errors_b: int = 0
    cost_a: float = 0.0
    cost_b: float = 0.0
    latency_a_ms: float = 0.0
    latency_b_ms: float = 0.0
    regressed: bool = False

    @property
    def primary_delta(self) -> MetricDelta | None:
        return next((m for m in self.metrics if m.metric == self.primary), None)


def paired_bootstrap_ci(
    a: Sequence[float], b: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile confidence interval of ``mean(b - a)`` under paired resampling."""
    diffs = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    if diffs.size == 0:
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, diffs.size, size=(resamples, diffs.size))
    means = diffs[idx].mean(axis=1)
    alpha = (1.0 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1.0 - alpha))


def _value(result: ItemResult, metric: str) -> float | None:
    if metric == "judge_score":
        if result.judge is not None and result.judge.status == "ok" and result.judge.score is not None:
            return float(result.judge.score)
        return None
    return result.metrics.get(metric)


def _paired(a: ItemResult | None, b: ItemResult | None, metric: str) -> tuple[float, float] | None:
    """The metric's values on one item in both runs, or None when it cannot be paired."""
    if a is None or b is None or "skipped" in (a.status, b.status) or a.status == b.status == "error":
        return None
    zero_on_error = metric not in _NOT_SCORED_ON_ERROR

    def side(r: ItemResult) -> float | None:
        if r.status == "error":
            return 0.0 if zero_on_error else None
        return _value(r, metric)

    va, vb = side(a), side(b)
    return (va, vb) if va is not None and vb is not None else None


def compare_results(
    run_a: RunInfo,
    results_a: Sequence[ItemResult],
    run_b: RunInfo,
    results_b: Sequence[ItemResult],
    *,
    metric: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    seed: int = 0,
) -> Comparison:
    by_a = {r.item_id: r for r in results_a}
    by_b = {r.item_id: r for r in results_b}
    ids = [i for i in by_a if i in by_b]
    names: list[str] = []
    for r in [*results_a, *results_b]:
        for name in r.metrics:
            if name not in names:
                names.append(name)
    if any(r.judge is not None for r in [*results_a, *results_b]):
        names.append("judge_score")
    primary = metric or primary_metric(run_b.aggregates or {}) or primary_metric(run_a.aggregates or {})
    deltas: list[MetricDelta] = []
    for name in names:
        pairs = [p for i in ids if (p := _paired(by_a[i], by_b[i], name)) is not None]
        if not pairs:
            continue
        xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
        low, high = paired_bootstrap_ci(xs, ys, seed=seed)
        mean_a, mean_b = statistics.fmean(xs), statistics.fmean(ys)
        deltas.append(
            MetricDelta(metric=name, n=len(pairs), a=mean_a, b=mean_b, delta=mean_b - mean_a, ci_low=low, ci_high=high)
        )
    comparison = Comparison(
        prompt_a=run_a.prompt_ref,
        prompt_b=run_b.prompt_ref,
        dataset=run_b.dataset_ref,
        run_a=run_a.run_id,
        run_b=run_b.run_id,
        primary=primary,
        threshold=threshold,
        metrics=deltas,
        errors_a=sum(r.status == "error" for r in results_a),
        errors_b=sum(r.status == "error" for r in results_b),
        cost_a=sum(r.cost_usd for r in results_a),
        cost_b=sum(r.cost_usd for r in results_b),
        latency_a_ms=_mean_latency(results_a),
        latency_b_ms=_mean_latency(results_b),
    )
    if primary is not None:
        changes = [
            ItemChange(item_id=i, a=p[0], b=p[1]) for i in ids if (p := _paired(by_a[i], by_b[i], primary)) is not None
        ]
        comparison.wins = sum(c.b > c.a for c in changes)
        comparison.losses = sum(c.b < c.a for c in changes)
        comparison.ties = sum(c.b == c.a for c in changes)
        comparison.biggest_losses = sorted((c for c in changes if c.b < c.a), key=lambda c: c.b - c.a)[:10]
        comparison.biggest_wins = sorted((c for c in changes if c.b > c.a), key=lambda c: c.a - c.b)[:10]
        delta = comparison.primary_delta
        comparison.regressed = delta is not None and delta.delta < -threshold
    return comparison


def _mean_latency(results: Sequence[ItemResult]) -> float:
    values = [r.latency_ms for r in results if r.status == "ok"]
    return statistics.fmean(values) if values else 0.0


def compare_runs(
    store: RunStore, run_a: str, run_b: str, *, metric: str | None = None, threshold: float = DEFAULT_THRESHOLD
) -> Comparison:
    a, b = store.get(run_a), store.get(run_b)
    return compare_results(a, store.results(a.run_id), b, store.results(b.run_id), metric=metric, threshold=threshold)


def latest_common_runs(store: RunStore, name: str, a: str, b: str) -> tuple[RunInfo, RunInfo] | None:
    """The latest completed eval runs of ``name@a`` and ``name@b`` on the same dataset version."""
    runs_a = store.list_runs(prompt_name=name, prompt_version=a, kind="eval", status="completed", limit=200)
    runs_b = store.list_runs(prompt_name=name, prompt_version=b, kind="eval", status="completed", limit=200)
    best: tuple[RunInfo, RunInfo] | None = None
    for ra in runs_a:
        for rb in runs_b:
            if ra.dataset_id is None or ra.dataset_id != rb.dataset_id or ra.config.target != rb.config.target:
                continue
            newest = max(ra.created_at, rb.created_at)
            if best is None or newest > max(best[0].created_at, best[1].created_at):
                best = (ra, rb)
    return best


def latest_delta(db: Database, name: str, a: str, b: str, *, metric: str | None = None) -> Comparison | None:
    """The eval delta between two versions from their latest runs on a shared dataset, or None.

    ``promptyard prompts diff`` shows it beside the text diff.
    """
    store = RunStore(db)
    pair = latest_common_runs(store, name, a, b)
    if pair is None:
        return None
    ra, rb = pair
    return compare_results(ra, store.results(ra.run_id), rb, store.results(rb.run_id), metric=metric)


def diff_eval_delta(db: Database, name: str, a: str, b: str) -> tuple[list[EvalDeltaRow], str | None]:
    """Rows for ``promptyard prompts diff`` and a line naming where they came from (empty without runs)."""
    from promptyard.prompts.diff import EvalDeltaRow

    comparison = latest_delta(db, name, a, b)
    if comparison is None:
        return [], None
    rows = [EvalDeltaRow(metric=m.metric, old=m.a, new=m.b) for m in comparison.metrics if m.metric != "abstained"]
    primary = comparison.primary_delta
    note = (
        f"eval delta on {comparison.dataset} (runs {comparison.run_a} → {comparison.run_b})"
        + (
            f"; {primary.metric} {primary.delta:+.4f}, 95% CI [{primary.ci_low:+.4f}, {primary.ci_high:+.4f}]"
            if primary
            else ""
        )
        + (f"; {comparison.wins} wins, {comparison.losses} losses" if comparison.primary else "")
    )
    return rows, note
