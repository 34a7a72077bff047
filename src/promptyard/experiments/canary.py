"""Canary releases: a split whose new version widens step by step and rolls back by itself.

A canary is an experiment of kind ``canary`` with arms ``[new, baseline]`` (the new version
first, so widening keeps the units already on it). At each step the controller compares
the canary arm with the baseline arm on the traces of that step only:

* **error rate:** canary minus baseline above ``max_error_rate_increase`` (absolute);
* **p95 latency:** canary above ``max_p95_latency_ratio`` times the baseline *and* more than
  ``latency_slack_ms`` slower (tiny latencies are noisy);
* **cost per call:** above ``max_cost_ratio`` times the baseline (when the baseline costs anything);
* **quality:** the ``quality`` metric (``feedback.thumbs_up`` or an online ``score.<name>``)
  lower than the baseline's by more than ``max_quality_drop``, once both arms have
  ``min_quality_samples`` values.

Checks run once the canary arm has ``min_samples`` calls in the step. A failed check ends
the split at once (the label never moved, so every caller is back on the baseline), writes
a ``canary_rollback`` audit row with the reason and fires the alert. A step widens when its
``hold`` has passed, the canary arm has ``min_samples`` calls and every check passes;
reaching 100 % moves the label to the new version (``promote``) and ends the canary.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator

from promptyard.errors import InvalidInput
from promptyard.experiments.model import Arm, Experiment, Unit, check_metric
from promptyard.experiments.samples import Sample, values
from promptyard.prompts.records import UTCTime

Verdict = Literal["wait", "widen", "rollback"]


class CanaryThresholds(BaseModel):
    max_error_rate_increase: float = Field(default=0.05, ge=0)
    max_p95_latency_ratio: float = Field(default=1.5, gt=0)
    latency_slack_ms: float = Field(default=50.0, ge=0)
    max_cost_ratio: float = Field(default=1.5, gt=0)
    quality: str = "feedback.thumbs_up"
    max_quality_drop: float = Field(default=0.1, ge=0)
    min_quality_samples: int = Field(default=20, ge=1)
    min_samples: int = Field(default=20, ge=1)
    """Canary-arm calls in a step before it may be judged or widened."""

    @field_validator("quality")
    @classmethod
    def _quality(cls, value: str) -> str:
        return check_metric(value)


class CanarySpec(BaseModel):
    """What ``canary start`` takes."""

    prompt: str
    label: str = "production"
    to: str
    steps: list[float] = Field(default_factory=lambda: [5.0, 25.0, 50.0, 100.0])
    hold_s: float = Field(default=900.0, ge=0)
    unit: Unit = "user"
    name: str | None = Field(default=None, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")
    thresholds: CanaryThresholds = Field(default_factory=CanaryThresholds)

    @field_validator("steps")
    @classmethod
    def _steps(cls, value: list[float]) -> list[float]:
        if not value or any(not 0 < s <= 100 for s in value) or value != sorted(set(value)):
            raise InvalidInput("canary steps must be increasing percentages in (0, 100]", hint="e.g. 5,25,50,100")
        return value if value[-1] == 100 else [*value, 100.0]


class StepRecord(BaseModel):
    step: int
    percent: float
    started_at: UTCTime
    ended_at: UTCTime | None = None
    outcome: Literal["running", "widened", "rolled_back", "promoted", "stopped"] = "running"
    canary_n: int = 0
    baseline_n: int = 0
    detail: str = ""


class CanaryState(BaseModel):
    """Kept in the experiment row's ``config``: a restarted controller resumes from it."""

    baseline: str
    target: str
    steps: list[float]
    hold_s: float
    thresholds: CanaryThresholds
    step: int = 0
    step_started_at: UTCTime
    """On the controller's clock (holds)."""
    window_from: UTCTime
    """Wall-clock UTC time the step began: its traces are those stamped at or after it."""
    history: list[StepRecord] = Field(default_factory=list)

    @property
    def percent(self) -> float:
        return self.steps[self.step]

    def arms(self) -> list[Arm]:
        pct = self.percent
        return [Arm(version=self.target, weight=pct), Arm(version=self.baseline, weight=100.0 - pct)]


def state_of(experiment: Experiment) -> CanaryState:
    return CanaryState.model_validate(experiment.config)


class ArmStats(BaseModel):
    n: int
    error_rate: float
    p95_ms: float
    cost: float
    quality: float | None
    quality_n: int


class Evaluation(BaseModel):
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)
    canary: ArmStats
    baseline: ArmStats


def arm_stats(samples: list[Sample], quality: str) -> ArmStats:
    q = values(samples, quality)
    q = q[~np.isnan(q)]
    ms = np.array([s.total_ms for s in samples]) if samples else np.zeros(0)
    return ArmStats(
        n=len(samples),
        error_rate=sum(s.status == "error" for s in samples) / len(samples) if samples else 0.0,
        p95_ms=float(np.percentile(ms, 95)) if ms.size else 0.0,
        cost=float(np.mean([s.cost_usd for s in samples])) if samples else 0.0,
        quality=float(q.mean()) if q.size else None,
        quality_n=int(q.size),
    )


def evaluate(state: CanaryState, samples: list[Sample], *, now: datetime) -> Evaluation:
    """The controller's decision for the current step, from that step's traces."""
    t = state.thresholds
    canary = arm_stats([s for s in samples if s.arm == state.target], t.quality)
    base = arm_stats([s for s in samples if s.arm == state.baseline], t.quality)
    reasons: list[str] = []
    if canary.n >= t.min_samples:
        if canary.error_rate - base.error_rate > t.max_error_rate_increase:
            reasons.append(
                f"error rate {canary.error_rate:.1%} vs {base.error_rate:.1%} on the baseline "
                f"(limit +{t.max_error_rate_increase:.1%})"
            )
        if base.n and canary.p95_ms > max(base.p95_ms * t.max_p95_latency_ratio, base.p95_ms + t.latency_slack_ms):
            reasons.append(
                f"p95 latency {canary.p95_ms:.0f} ms vs {base.p95_ms:.0f} ms on the baseline "
                f"(limit x{t.max_p95_latency_ratio:g})"
            )
        if base.n and base.cost > 0 and canary.cost > base.cost * t.max_cost_ratio:
            reasons.append(
                f"cost per call ${canary.cost:.6f} vs ${base.cost:.6f} on the baseline (limit x{t.max_cost_ratio:g})"
            )
        enough_quality = min(canary.quality_n, base.quality_n) >= t.min_quality_samples
        cq, bq = canary.quality, base.quality
        if enough_quality and cq is not None and bq is not None and bq - cq > t.max_quality_drop:
            reasons.append(f"{t.quality} {cq:.3f} vs {bq:.3f} on the baseline (limit -{t.max_quality_drop:g})")
    if reasons:
        return Evaluation(verdict="rollback", reasons=reasons, canary=canary, baseline=base)
    held = (now - state.step_started_at).total_seconds() >= state.hold_s
    ready = held and canary.n >= t.min_samples
    return Evaluation(verdict="widen" if ready else "wait", canary=canary, baseline=base)


def describe(state: CanaryState) -> str:
    return f"step {state.step + 1}/{len(state.steps)} ({state.percent:g}% on {state.target})"
