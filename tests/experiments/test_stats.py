"""The statistics core: oracle checks against scipy/statsmodels formulas and seeded simulations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from promptyard.experiments.stats import (
    msprt,
    plan_samples,
    sequential_p_values_rates,
    srm_check,
    two_proportion_test,
    welch_test,
    wilson_interval,
)

SIMS = 200
LOOK_EVERY = 50  # per arm: a look after every 100 samples in total


def _simulate(rng: np.random.Generator, p_a: float, p_b: float, n: int) -> tuple[np.ndarray, ...]:
    """Cumulative successes per arm at every look, for SIMS independent experiments."""
    a = rng.random((SIMS, n)) < p_a
    b = rng.random((SIMS, n)) < p_b
    looks = np.arange(LOOK_EVERY, n + 1, LOOK_EVERY)
    s_a = np.cumsum(a, axis=1)[:, looks - 1]
    s_b = np.cumsum(b, axis=1)[:, looks - 1]
    return s_a, s_b, np.broadcast_to(looks, s_a.shape)


def test_plus_five_points_is_detected_at_the_planned_sample_size_in_80_percent():
    plan = plan_samples(baseline=0.5, effect=0.05, alpha=0.05, power=0.8)
    assert plan.fixed_per_arm == pytest.approx(1565, abs=5)  # the textbook figure for 50% -> 55%
    assert plan.sequential_per_arm > plan.fixed_per_arm  # peeking safely costs samples
    rng = np.random.default_rng(20261203)
    s_a, s_b, looks = _simulate(rng, 0.5, 0.55, plan.sequential_per_arm)
    p = sequential_p_values_rates(s_a, looks, s_b, looks)
    detected = (p[:, -1] <= 0.05).mean()
    assert detected >= 0.80, f"power {detected:.1%} at n={plan.sequential_per_arm}/arm"


def test_a_null_difference_is_significant_at_most_5_percent_even_checked_every_100_samples():
    plan = plan_samples(baseline=0.5, effect=0.05)
    rng = np.random.default_rng(7)
    s_a, s_b, looks = _simulate(rng, 0.5, 0.5, 2 * plan.sequential_per_arm)
    p = sequential_p_values_rates(s_a, looks, s_b, looks)
    false_positive = (p.min(axis=1) <= 0.05).mean()
    assert false_positive <= 0.05, f"sequential false-positive rate {false_positive:.1%}"
    # the same peeking with the fixed-horizon z-test would cry wolf far more often
    pooled = (s_a + s_b) / (2 * looks)
    z = (s_b - s_a) / looks / np.sqrt(np.maximum(pooled * (1 - pooled) * 2 / looks, 1e-12))
    naive = ((2 * sps.norm.sf(np.abs(z))).min(axis=1) <= 0.05).mean()
    assert naive > 2 * false_positive
    assert naive > 0.08


def test_always_valid_p_values_never_increase():
    rng = np.random.default_rng(1)
    s_a, s_b, looks = _simulate(rng, 0.3, 0.3, 1000)
    p = sequential_p_values_rates(s_a, looks, s_b, looks)
    assert (np.diff(p, axis=1) <= 0).all()
    assert msprt(0.0, 0.0, 0.05).p_value == 1.0  # no data: nothing to reject
    assert msprt(0.2, 0.0001, 0.05).significant


def test_two_proportion_and_welch_match_scipy():
    result = two_proportion_test(300, 1000, 350, 1000)
    pooled = 650 / 2000
    z = 0.05 / math.sqrt(pooled * (1 - pooled) * 2 / 1000)
    assert result.statistic == pytest.approx(z)
    assert result.p_value == pytest.approx(2 * sps.norm.sf(z))
    assert result.ci.low < 0.05 < result.ci.high

    rng = np.random.default_rng(3)
    a, b = rng.normal(10, 2, 80), rng.normal(11, 5, 120)
    ours = welch_test(a.mean(), a.var(ddof=1), len(a), b.mean(), b.var(ddof=1), len(b))
    ref = sps.ttest_ind(b, a, equal_var=False)
    assert ours.statistic == pytest.approx(ref.statistic)
    assert ours.p_value == pytest.approx(ref.pvalue)


def test_wilson_interval_matches_the_closed_form_and_handles_zero():
    ci = wilson_interval(0, 20)
    assert ci.low == 0.0
    assert 0.1 < ci.high < 0.2  # the rule of three says ~0.15
    mid = wilson_interval(50, 100)
    assert mid.low == pytest.approx(0.4038, abs=1e-3)
    assert mid.high == pytest.approx(0.5962, abs=1e-3)


def test_srm_flags_a_skewed_split_only():
    assert not srm_check([5030, 4970], [50, 50]).mismatch
    skewed = srm_check([5300, 4700], [50, 50])
    assert skewed.mismatch
    assert skewed.p_value < 1e-6
    assert not srm_check([9010, 990], [90, 10]).mismatch


def test_plan_for_a_mean_and_bad_input():
    plan = plan_samples(baseline=800.0, effect=-50.0, sd=200.0)
    # 2 * (1.96 + 0.84)^2 * 200^2 / 50^2 = 251
    assert plan.fixed_per_arm == pytest.approx(252, abs=2)
    with pytest.raises(ValueError, match="between 0 and 1"):
        plan_samples(baseline=0.98, effect=0.05)
    with pytest.raises(ValueError, match="not be 0"):
        plan_samples(baseline=0.5, effect=0.0)
