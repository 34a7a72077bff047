"""The statistics of an A/B test: intervals, tests, an always-valid sequential test, SRM, power.

Everything here is a pure function of counts and moments, so the analysis, the canary
controller and the simulations in the tests call the very same code.

* **Intervals.** A rate gets a Wilson score interval; a mean a Student-t interval.
* **Fixed-horizon tests.** Rates: the two-proportion z-test (pooled standard error for the
  test, unpooled for the interval of the difference). Means: Welch's t-test.
* **Sequential test.** The mixture sequential probability ratio test (mSPRT) of Johari,
  Pekelis and Walsh ("Always valid inference", 2017) on the difference of means, with a
  normal mixing distribution ``N(0, tau^2)``. Its p-value ``p_n = min(p_{n-1}, 1 / Lambda_n)``
  is valid at any stopping time, so looking after every batch does not inflate false
  positives. ``tau`` is given in standard deviations of the metric (effect size); the
  default 0.1 suits effects of a few points on a rate near 0.5.
* **Sample ratio mismatch.** A chi-square goodness-of-fit of the arm counts against the
  configured weights; flagged below ``p < 0.001`` (the usual threshold: a real SRM is
  glaring, and checking often must not cry wolf).
* **Power.** Samples per arm for a fixed-horizon two-sided test, and for the mSPRT
  (conservatively: the chance of crossing by the *last* look only; crossing earlier counts too).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel
from scipy import stats as sps

SRM_ALPHA = 0.001
DEFAULT_TAU = 0.1


class Interval(BaseModel):
    low: float
    high: float


class ArmEstimate(BaseModel):
    """One arm's estimate of one metric."""

    n: int
    mean: float
    ci: Interval


class TestResult(BaseModel):
    """B minus A, with a two-sided test."""

    test: str
    """``two-proportion z`` or ``welch t``."""
    diff: float
    ci: Interval
    statistic: float
    p_value: float


class SequentialResult(BaseModel):
    """The mSPRT at the current sample: the always-valid p-value and whether it crossed."""

    likelihood_ratio: float
    p_value: float
    significant: bool


class SrmResult(BaseModel):
    observed: list[int]
    expected: list[float]
    chi2: float
    p_value: float
    mismatch: bool


class SamplePlan(BaseModel):
    """How many samples per arm an effect needs."""

    baseline: float
    effect: float
    sd: float
    alpha: float
    power: float
    fixed_per_arm: int
    """For the fixed-horizon two-sided test, looked at once."""
    sequential_per_arm: int
    """For the mSPRT looked at any time (what ``experiments status`` decides on)."""
    tau: float


# ---- intervals --------------------------------------------------------------------------
def wilson_interval(successes: int, n: int, level: float = 0.95) -> Interval:
    """Wilson score interval of a rate (sensible at 0, 1 and small n)."""
    if n <= 0:
        return Interval(low=0.0, high=1.0)
    z = float(sps.norm.ppf(0.5 + level / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(low=max(0.0, centre - half), high=min(1.0, centre + half))


def mean_interval(mean: float, var: float, n: int, level: float = 0.95) -> Interval:
    """Student-t interval of a mean from its sample variance."""
    if n < 2:
        return Interval(low=-math.inf, high=math.inf) if n == 0 else Interval(low=mean, high=mean)
    half = float(sps.t.ppf(0.5 + level / 2, n - 1)) * math.sqrt(var / n)
    return Interval(low=mean - half, high=mean + half)


# ---- fixed-horizon tests ----------------------------------------------------------------
def two_proportion_test(s_a: int, n_a: int, s_b: int, n_b: int, level: float = 0.95) -> TestResult:
    """z-test of ``p_b - p_a``: pooled standard error for the test, unpooled for the interval."""
    if n_a <= 0 or n_b <= 0:
        return TestResult(test="two-proportion z", diff=0.0, ci=Interval(low=-1, high=1), statistic=0.0, p_value=1.0)
    p_a, p_b = s_a / n_a, s_b / n_b
    diff = p_b - p_a
    pooled = (s_a + s_b) / (n_a + n_b)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    z = diff / se0 if se0 > 0 else 0.0
    p = float(2 * sps.norm.sf(abs(z)))
    zc = float(sps.norm.ppf(0.5 + level / 2))
    return TestResult(
        test="two-proportion z",
        diff=diff,
        ci=Interval(low=diff - zc * se, high=diff + zc * se),
        statistic=z,
        p_value=p,
    )


def welch_test(
    mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float, n_b: int, level: float = 0.95
) -> TestResult:
    """Welch's t-test of ``mean_b - mean_a`` (unequal variances, Welch-Satterthwaite df)."""
    diff = mean_b - mean_a
    if n_a < 2 or n_b < 2:
        return TestResult(test="welch t", diff=diff, ci=Interval(low=-math.inf, high=math.inf), statistic=0, p_value=1)
    va, vb = var_a / n_a, var_b / n_b
    se = math.sqrt(va + vb)
    if se == 0:
        return TestResult(test="welch t", diff=diff, ci=Interval(low=diff, high=diff), statistic=0.0, p_value=1.0)
    df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    t = diff / se
    p = float(2 * sps.t.sf(abs(t), df))
    tc = float(sps.t.ppf(0.5 + level / 2, df))
    return TestResult(
        test="welch t", diff=diff, ci=Interval(low=diff - tc * se, high=diff + tc * se), statistic=t, p_value=p
    )


# ---- the sequential test ------------------------------------------------------------------
def msprt_log_lr(diff: ArrayLike, var_diff: ArrayLike, tau_abs: ArrayLike) -> NDArray[np.float64]:
    """log Lambda of the normal-mixture SPRT for H0: delta = 0, vectorised.

    ``diff`` is the estimated difference, ``var_diff`` its variance (``s_a^2/n_a + s_b^2/n_b``)
    and ``tau_abs`` the mixing standard deviation in the metric's units. A zero variance
    (no data yet) gives ``log Lambda = 0``.
    """
    d = np.asarray(diff, dtype=np.float64)
    v = np.asarray(var_diff, dtype=np.float64)
    t2 = np.asarray(tau_abs, dtype=np.float64) ** 2
    ok = (v > 0) & (t2 > 0)
    v_safe = np.where(ok, v, 1.0)
    t2_safe = np.where(ok, t2, 1.0)
    out = 0.5 * np.log(v_safe / (v_safe + t2_safe)) + t2_safe * d * d / (2 * v_safe * (v_safe + t2_safe))
    return np.where(ok, out, 0.0)


def msprt(
    diff: float, var_diff: float, tau_abs: float, *, alpha: float = 0.05, previous_p: float = 1.0
) -> SequentialResult:
    """The mSPRT at one look. Pass the last look's p-value as ``previous_p`` to keep it monotone."""
    log_lr = float(msprt_log_lr(diff, var_diff, tau_abs))
    p = min(previous_p, 1.0, math.exp(-log_lr))
    return SequentialResult(likelihood_ratio=math.exp(min(log_lr, 700.0)), p_value=p, significant=p <= alpha)


def proportion_var_diff(s_a: ArrayLike, n_a: ArrayLike, s_b: ArrayLike, n_b: ArrayLike) -> NDArray[np.float64]:
    """Variance of ``p_b - p_a`` under the pooled rate (well defined when one arm has p = 0)."""
    sa, na = np.asarray(s_a, dtype=np.float64), np.asarray(n_a, dtype=np.float64)
    sb, nb = np.asarray(s_b, dtype=np.float64), np.asarray(n_b, dtype=np.float64)
    total = np.maximum(na + nb, 1.0)
    pooled = (sa + sb) / total
    return np.asarray(pooled * (1 - pooled) * (1 / np.maximum(na, 1.0) + 1 / np.maximum(nb, 1.0)))


def sequential_p_values_rates(
    s_a: ArrayLike, n_a: ArrayLike, s_b: ArrayLike, n_b: ArrayLike, *, tau: float = DEFAULT_TAU
) -> NDArray[np.float64]:
    """Always-valid p-values of a rate difference at successive looks (the last axis), vectorised.

    ``s_*``/``n_*`` are cumulative successes and samples at each look. The mixing standard
    deviation is ``tau`` times the pooled standard deviation at that look.
    """
    sa, na = np.asarray(s_a, dtype=np.float64), np.asarray(n_a, dtype=np.float64)
    sb, nb = np.asarray(s_b, dtype=np.float64), np.asarray(n_b, dtype=np.float64)
    diff = sb / np.maximum(nb, 1.0) - sa / np.maximum(na, 1.0)
    pooled = (sa + sb) / np.maximum(na + nb, 1.0)
    var = proportion_var_diff(sa, na, sb, nb)
    log_lr = msprt_log_lr(diff, var, tau * np.sqrt(pooled * (1 - pooled)))
    p = np.minimum(1.0, np.exp(-np.minimum(log_lr, 700.0)))
    return np.asarray(np.minimum.accumulate(p, axis=-1))


# ---- sample ratio mismatch ----------------------------------------------------------------
def srm_check(observed: Sequence[int], weights: Sequence[float], *, alpha: float = SRM_ALPHA) -> SrmResult:
    """Chi-square goodness of fit of arm counts against the split's weights."""
    total = sum(observed)
    wsum = sum(weights)
    expected = [total * w / wsum for w in weights] if wsum > 0 else [0.0 for _ in weights]
    if total == 0 or len(observed) < 2:
        return SrmResult(observed=list(observed), expected=expected, chi2=0.0, p_value=1.0, mismatch=False)
    chi2 = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True) if e > 0)
    p = float(sps.chi2.sf(chi2, len(observed) - 1))
    return SrmResult(observed=list(observed), expected=expected, chi2=chi2, p_value=p, mismatch=p < alpha)


# ---- power ----------------------------------------------------------------------------------
def plan_samples(
    *,
    baseline: float,
    effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
    sd: float | None = None,
    tau: float = DEFAULT_TAU,
) -> SamplePlan:
    """Samples per arm to detect ``effect`` (absolute) on a metric at ``baseline``.

    Rates (``sd`` unset, baseline in (0, 1)) use the binomial variances; a mean needs ``sd``.
    """
    if effect == 0:
        raise ValueError("the effect to detect must not be 0")
    if sd is None:
        if not 0 < baseline < 1 or not 0 < baseline + effect < 1:
            raise ValueError("for a rate, baseline and baseline + effect must lie strictly between 0 and 1")
        p1, p2 = baseline, baseline + effect
        pbar = (p1 + p2) / 2
        var0 = 2 * pbar * (1 - pbar)
        var1 = p1 * (1 - p1) + p2 * (1 - p2)
        sd_pooled = math.sqrt(pbar * (1 - pbar))
    else:
        var0 = var1 = 2 * sd * sd
        sd_pooled = sd
    za = float(sps.norm.ppf(1 - alpha / 2))
    zb = float(sps.norm.ppf(power))
    fixed = math.ceil((za * math.sqrt(var0) + zb * math.sqrt(var1)) ** 2 / effect**2)
    tau_abs = tau * sd_pooled
    d = abs(effect)

    def seq_power(n: int) -> float:
        v = var0 / n
        t2 = tau_abs * tau_abs
        # Lambda_n >= 1/alpha  <=>  |Z| >= c_n, with Z = diff / sqrt(v)
        c = math.sqrt(2 * (v + t2) / t2 * (math.log(1 / alpha) + 0.5 * math.log((v + t2) / v)))
        return float(sps.norm.sf(c - d / math.sqrt(var1 / n)))

    lo, hi = 2, max(fixed, 2)
    while seq_power(hi) < power:
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        if seq_power(mid) >= power:
            hi = mid
        else:
            lo = mid + 1
    return SamplePlan(
        baseline=baseline,
        effect=effect,
        sd=sd_pooled,
        alpha=alpha,
        power=power,
        fixed_per_arm=fixed,
        sequential_per_arm=hi,
        tau=tau,
    )
