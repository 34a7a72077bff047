"""Paired comparison: bootstrap intervals, errors counted against a version, the gate decision."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from promptyard.evals.compare import compare_results, paired_bootstrap_ci
from promptyard.evals.model import ItemResult, JudgeVerdict, RunConfig, RunInfo


def run(version: str, run_id: str) -> RunInfo:
    config = RunConfig(prompt_name="qa", prompt_version=version, dataset_id=1, dataset_name="qa", dataset_version=1)
    return RunInfo(
        run_id=run_id,
        kind="eval",
        prompt_name="qa",
        prompt_version=version,
        dataset_id=1,
        dataset_name="qa",
        dataset_version=1,
        config=config,
        status="completed",
        total_items=0,
        aggregates={"metrics": {"f1": {"mean": 0.0, "n": 1}}},
        created_by="t",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def ok(item: str, f1: float, *, judge: int | None = None, latency: float = 10.0, cost: float = 0.0) -> ItemResult:
    verdict = JudgeVerdict(status="ok", score=judge, reason="r") if judge else None
    return ItemResult(
        item_id=item,
        position=int(item[1:]),
        status="ok",
        metrics={"f1": f1},
        judge=verdict,
        latency_ms=latency,
        cost_usd=cost,
    )


def test_bootstrap_interval_is_seeded_and_brackets_the_mean() -> None:
    rng = np.random.default_rng(1)
    a = rng.uniform(size=200)
    b = a + 0.05 + rng.normal(scale=0.1, size=200)
    low, high = paired_bootstrap_ci(a, b, seed=7)
    assert (low, high) == paired_bootstrap_ci(a, b, seed=7)
    assert low < float(np.mean(b - a)) < high
    assert low > 0.0  # a consistent +0.05 shift is significant with 200 pairs
    assert paired_bootstrap_ci([0.5, 0.5], [0.5, 0.5]) == (0.0, 0.0)
    assert paired_bootstrap_ci([], []) == (0.0, 0.0)


def test_identical_runs_do_not_regress() -> None:
    results = [ok(f"q{i}", i / 10) for i in range(10)]
    c = compare_results(run("1.0.0", "a"), results, run("1.0.0", "a"), results)
    assert c.primary == "f1"
    assert not c.regressed
    [f1] = c.metrics
    assert (f1.delta, f1.ci_low, f1.ci_high) == (0.0, 0.0, 0.0)
    assert (c.wins, c.losses, c.ties) == (0, 0, 10)


def test_regression_beyond_threshold_fails_and_small_drops_pass() -> None:
    a = [ok(f"q{i}", 1.0) for i in range(10)]
    b = [ok(f"q{i}", 1.0 if i else 0.8) for i in range(10)]  # mean drop 0.02
    small = compare_results(run("1.0.0", "a"), a, run("1.1.0", "b"), b, threshold=0.05)
    assert not small.regressed
    assert small.primary_delta is not None
    assert small.primary_delta.delta == pytest.approx(-0.02)
    strict = compare_results(run("1.0.0", "a"), a, run("1.1.0", "b"), b, threshold=0.01)
    assert strict.regressed
    assert [x.item_id for x in strict.biggest_losses] == ["q0"]


def test_an_item_that_errors_scores_zero_against_the_other_version() -> None:
    a = [ok("q0", 1.0), ok("q1", 1.0), ok("q2", 0.5)]
    b = [
        ok("q0", 1.0),
        ItemResult(item_id="q1", position=1, status="error", error="OutputValidationError"),
        ItemResult(item_id="q2", position=2, status="skipped"),
    ]
    c = compare_results(run("1.0.0", "a"), a, run("1.1.0", "b"), b)
    [f1] = c.metrics
    assert f1.n == 2  # the skipped row is left out
    assert f1.b == pytest.approx(0.5)
    assert c.regressed
    assert (c.errors_a, c.errors_b) == (0, 1)


def test_judge_scores_pair_only_where_both_were_judged() -> None:
    a = [ok("q0", 1.0, judge=5), ok("q1", 1.0, judge=4), ok("q2", 1.0)]
    failed = JudgeVerdict(status="failed", error="no JSON")
    b = [ok("q0", 1.0, judge=3), ok("q1", 1.0).model_copy(update={"judge": failed}), ok("q2", 1.0, judge=1)]
    c = compare_results(run("1.0.0", "a"), a, run("1.1.0", "b"), b, metric="judge_score", threshold=0.5)
    judge = next(m for m in c.metrics if m.metric == "judge_score")
    assert judge.n == 1
    assert judge.delta == -2.0
    assert c.regressed


def test_cost_and_latency_deltas() -> None:
    a = [ok("q0", 1.0, latency=100, cost=0.01), ok("q1", 1.0, latency=300, cost=0.01)]
    b = [ok("q0", 1.0, latency=50, cost=0.002), ok("q1", 1.0, latency=50, cost=0.002)]
    c = compare_results(run("1.0.0", "a"), a, run("1.1.0", "b"), b)
    assert (c.latency_a_ms, c.latency_b_ms) == (200.0, 50.0)
    assert c.cost_a == pytest.approx(0.02)
    assert c.cost_b == pytest.approx(0.004)
