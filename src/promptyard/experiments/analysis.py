"""The read-out of an experiment: per-arm estimates, differences, an always-valid p-value, SRM, segments.

* **Per arm and metric:** the count and the mean with a 95 % interval (Wilson for rates,
  Student-t for means); ``p95_latency`` also reports the 95th percentile.
* **Difference to the baseline arm:** two-proportion z-test for rates, Welch's t-test for
  means (``p95_latency`` is tested on the mean latency).
* **Sequential test:** the mSPRT always-valid p-value on the primary metric, taken as the
  running minimum over every sample in arrival order, so looking at ``status`` as often as
  you like does not inflate false positives. A result is *significant* when that p-value is
  at most ``alpha`` and each arm has ``min_samples``.
* **SRM:** arm counts (distinct units; a call without a unit counts as its own) against the
  split's weights, chi-square, flagged below p < 0.001.
* **Segments:** the primary metric per arm, per value of one trace field.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from promptyard.experiments import stats
from promptyard.experiments.model import RATE_METRICS, Experiment
from promptyard.experiments.samples import Sample, values

ALPHA = 0.05
MAX_SEGMENTS = 20


class MetricEstimate(BaseModel):
    metric: str
    n: int
    mean: float
    ci: stats.Interval
    p95: float | None = None


class MetricDiff(BaseModel):
    metric: str
    arm: str
    baseline: str
    test: stats.TestResult
    sequential_p: float | None = None
    """Always-valid p-value (primary metric only)."""
    worse: bool = False
    """A guardrail: significantly worse than the baseline (p < alpha in the wrong direction)."""


class ArmReport(BaseModel):
    version: str
    weight: float
    traces: int
    units: int
    metrics: list[MetricEstimate] = Field(default_factory=list)


class SegmentReport(BaseModel):
    value: str
    arms: list[MetricEstimate] = Field(default_factory=list)
    diff: stats.TestResult | None = None


class Analysis(BaseModel):
    experiment: str
    kind: str
    status: str
    baseline: str
    primary: str
    arms: list[ArmReport]
    diffs: list[MetricDiff]
    srm: stats.SrmResult
    significant: bool
    enough_samples: bool
    winner: str | None = None
    segment_field: str | None = None
    segments: list[SegmentReport] = Field(default_factory=list)


def higher_is_better(metric: str) -> bool:
    return metric not in ("error_rate", "latency", "p95_latency", "cost")


def estimate(metric: str, x: NDArray[np.float64]) -> MetricEstimate:
    x = x[~np.isnan(x)]
    n = int(x.size)
    mean = float(x.mean()) if n else 0.0
    if metric in RATE_METRICS:
        ci = stats.wilson_interval(round(float(x.sum())), n)
    else:
        ci = stats.mean_interval(mean, float(x.var(ddof=1)) if n > 1 else 0.0, n)
    p95 = float(np.percentile(x, 95)) if metric == "p95_latency" and n else None
    ci = stats.Interval(low=_tidy(ci.low), high=_tidy(ci.high))
    return MetricEstimate(metric=metric, n=n, mean=mean, ci=ci, p95=p95)


def _tidy(value: float) -> float:
    """Float dust (a Wilson bound of 1e-19 at 0 successes) reads as 0."""
    return 0.0 if math.isfinite(value) and abs(value) < 1e-12 else value


def difference(metric: str, a: NDArray[np.float64], b: NDArray[np.float64]) -> stats.TestResult:
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if metric in RATE_METRICS:
        return stats.two_proportion_test(round(float(a.sum())), a.size, round(float(b.sum())), b.size)
    var_a = float(a.var(ddof=1)) if a.size > 1 else 0.0
    var_b = float(b.var(ddof=1)) if b.size > 1 else 0.0
    mean_a = float(a.mean()) if a.size else 0.0
    mean_b = float(b.mean()) if b.size else 0.0
    return stats.welch_test(mean_a, var_a, int(a.size), mean_b, var_b, int(b.size))


def sequential_p(metric: str, arms: NDArray[np.str_], x: NDArray[np.float64], base: str, other: str) -> float:
    """The always-valid p-value of ``other - base`` after every sample in arrival order."""
    keep = ~np.isnan(x) & ((arms == base) | (arms == other))
    x, is_b = x[keep], arms[keep] == other
    if x.size == 0:
        return 1.0
    n_a, n_b = np.cumsum(~is_b), np.cumsum(is_b)
    s_a, s_b = np.cumsum(np.where(is_b, 0.0, x)), np.cumsum(np.where(is_b, x, 0.0))
    if metric in RATE_METRICS:
        p = stats.sequential_p_values_rates(s_a, n_a, s_b, n_b)
        return float(p[-1])
    q_a, q_b = np.cumsum(np.where(is_b, 0.0, x * x)), np.cumsum(np.where(is_b, x * x, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        m_a, m_b = s_a / np.maximum(n_a, 1), s_b / np.maximum(n_b, 1)
        v_a = np.where(n_a > 1, (q_a - n_a * m_a * m_a) / np.maximum(n_a - 1, 1), 0.0)
        v_b = np.where(n_b > 1, (q_b - n_b * m_b * m_b) / np.maximum(n_b - 1, 1), 0.0)
        var_diff = np.where((n_a > 1) & (n_b > 1), v_a / np.maximum(n_a, 1) + v_b / np.maximum(n_b, 1), 0.0)
        pooled_sd = np.sqrt(np.maximum((v_a + v_b) / 2, 0.0))
    log_lr = stats.msprt_log_lr(m_b - m_a, var_diff, stats.DEFAULT_TAU * pooled_sd)
    return float(np.min(np.minimum(1.0, np.exp(-np.minimum(log_lr, 700.0)))))


def analyze(experiment: Experiment, samples: Sequence[Sample], *, segment_field: str | None = None) -> Analysis:
    baseline = str(experiment.config.get("baseline") or experiment.arms[0].version)
    versions = [a.version for a in experiment.arms]
    arm_of = np.array([s.arm for s in samples], dtype=np.str_)
    metrics = list(dict.fromkeys([experiment.primary, *experiment.guardrails]))
    columns = {m: values(samples, m) for m in metrics}
    reports: list[ArmReport] = []
    unit_counts: list[int] = []
    for arm in experiment.arms:
        mask = arm_of == arm.version
        units = {s.unit if s.unit is not None else f"trace:{s.trace_id}" for s in samples if s.arm == arm.version}
        unit_counts.append(len(units))
        reports.append(
            ArmReport(
                version=arm.version,
                weight=experiment.weight_of(arm.version),
                traces=int(mask.sum()),
                units=len(units),
                metrics=[estimate(m, columns[m][mask]) for m in metrics],
            )
        )
    diffs: list[MetricDiff] = []
    significant = False
    winner: str | None = None
    base_mask = arm_of == baseline
    for other in (v for v in versions if v != baseline):
        mask = arm_of == other
        for metric in metrics:
            test = difference(metric, columns[metric][base_mask], columns[metric][mask])
            diff = MetricDiff(metric=metric, arm=other, baseline=baseline, test=test)
            if metric == experiment.primary:
                diff.sequential_p = sequential_p(metric, arm_of, columns[metric], baseline, other)
                if diff.sequential_p <= ALPHA:
                    significant = True
                    if winner is None:
                        better = (test.diff > 0) == higher_is_better(metric)
                        winner = other if better else baseline
            else:
                wrong_way = (test.diff < 0) if higher_is_better(metric) else (test.diff > 0)
                diff.worse = wrong_way and test.p_value < ALPHA
            diffs.append(diff)
    primary_n = [next(e.n for e in r.metrics if e.metric == experiment.primary) for r in reports]
    enough = all(n >= experiment.min_samples for n in primary_n)
    weights = [a.weight for a in experiment.arms]
    srm = stats.srm_check(unit_counts, weights) if experiment.kind == "ab" else stats.srm_check([], weights)
    out = Analysis(
        experiment=experiment.name,
        kind=experiment.kind,
        status=experiment.status,
        baseline=baseline,
        primary=experiment.primary,
        arms=reports,
        diffs=diffs,
        srm=srm,
        significant=significant and enough,
        enough_samples=enough,
        winner=winner if significant and enough else None,
        segment_field=segment_field,
    )
    if segment_field is not None:
        out.segments = _segments(experiment, samples, arm_of, columns[experiment.primary], baseline)
    return out


def _segments(
    experiment: Experiment, samples: Sequence[Sample], arm_of: NDArray[np.str_], x: NDArray[np.float64], baseline: str
) -> list[SegmentReport]:
    seg = np.array(["" if s.segment is None else s.segment for s in samples], dtype=np.str_)
    counts: dict[str, int] = {}
    for value in seg:
        counts[str(value)] = counts.get(str(value), 0) + 1
    out: list[SegmentReport] = []
    other = next((a.version for a in experiment.arms if a.version != baseline), baseline)
    for value in sorted(counts, key=lambda v: -counts[v])[:MAX_SEGMENTS]:
        in_seg = seg == value
        report = SegmentReport(
            value=value or "(none)",
            arms=[estimate(experiment.primary, x[in_seg & (arm_of == a.version)]) for a in experiment.arms],
        )
        a, b = x[in_seg & (arm_of == baseline)], x[in_seg & (arm_of == other)]
        if np.count_nonzero(~np.isnan(a)) and np.count_nonzero(~np.isnan(b)):  # both arms seen in the segment
            report.diff = difference(experiment.primary, a, b)
        out.append(report)
    return out
