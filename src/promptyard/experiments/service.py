"""The experiments service: start, read out, stop and promote splits; feedback.

The CLI and the HTTP API call these same methods. Canaries (``experiments/canary.py``)
are experiments of kind ``canary`` whose weights a controller moves.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import select

from promptyard.errors import ExperimentError, InvalidInput, NotFound
from promptyard.experiments import stats
from promptyard.experiments.analysis import Analysis, analyze, higher_is_better
from promptyard.experiments.feedback import Feedback, FeedbackIn, FeedbackStore
from promptyard.experiments.model import Experiment, ExperimentSpec
from promptyard.experiments.samples import load_samples
from promptyard.experiments.splits import SplitTable
from promptyard.experiments.store import ExperimentStore
from promptyard.prompts.labels import LabelMove
from promptyard.store.db import Database
from promptyard.store.tables.experiments import TraceScoreRow
from promptyard.store.tables.tracing import TraceRow

if TYPE_CHECKING:
    from promptyard.experiments.canary_controller import Canaries
    from promptyard.prompts.registry import PromptRegistry
    from promptyard.runtime import Runtime

Flush = Callable[[], object]


class Experiments:
    def __init__(
        self,
        db: Database,
        registry: PromptRegistry,
        *,
        splits: SplitTable | None = None,
        flush: Flush | None = None,
        check_traces: bool = True,
        canaries: Callable[[Experiments], Canaries] | None = None,
    ) -> None:
        self.db = db
        self.registry = registry
        self.store = ExperimentStore(db)
        self.splits = splits or SplitTable(db)
        self.feedback_store = FeedbackStore(db)
        self._flush = flush
        self._check_traces = check_traces
        self._canaries = canaries

    @cached_property
    def canaries(self) -> Canaries:
        """Canary releases and their controller (``experiments/canary_controller.py``)."""
        from promptyard.experiments.canary_controller import Canaries

        return self._canaries(self) if self._canaries is not None else Canaries(self)

    def check_gate(self, prompt: str, label: str, version: str, current: str | None) -> None:
        """Refuse a move or canary the label's eval gate does not allow (no gate: allowed)."""
        if self.registry.gate is not None:
            self.registry.gate(prompt, label, version, current, "canary_step")

    # ---- lifecycle --------------------------------------------------------------------------
    def start(self, spec: ExperimentSpec, *, actor: str) -> Experiment:
        """Split ``spec.label`` across the arms (sticky per unit) until stopped or promoted."""
        current = self.registry.label(spec.prompt, spec.label).version
        versions = [a.version for a in spec.arms]
        baseline = current if current in versions else versions[0]  # deltas are taken against it
        experiment = self.store.create(spec, kind="ab", actor=actor, config={"baseline": baseline})
        self.splits.invalidate()
        return experiment

    def get(self, name: str) -> Experiment:
        return self.store.get(name)

    def list_all(self, *, prompt: str | None = None) -> list[Experiment]:
        return self.store.list_all(prompt=prompt)

    def stop(self, name: str, *, actor: str, reason: str | None = None) -> Experiment:
        """End the split: the label serves its own version (the baseline) to everyone again."""
        experiment = self.store.end(name, "stopped", actor=actor, reason=reason or "stopped")
        self.splits.invalidate()
        return experiment

    def promote(self, name: str, *, version: str | None = None, actor: str, reason: str | None = None) -> LabelMove:
        """Move the label to ``version`` (default: the analysis's winner) and end the split."""
        experiment = self.store.get(name)
        if not experiment.running:
            raise ExperimentError(f"{experiment.kind} {name!r} has ended ({experiment.status})")
        if version is None:
            result = self.status(name)
            if result.winner is None:
                raise ExperimentError(
                    f"{name}: no significant winner on {experiment.primary} yet",
                    hint="wait for more samples, or name the version: promote NAME --version V",
                )
            version = result.winner
        if version not in {a.version for a in experiment.arms}:
            raise InvalidInput(f"{version!r} is not an arm of {name!r}", hint="arms: " + _arms(experiment))
        why = reason or f"promoted from {experiment.kind} {name}"
        move = self.registry.set_label(
            experiment.prompt, experiment.label, version, actor=actor, reason=why, action="promote"
        )
        self.store.end(name, "promoted", actor=actor, reason=f"{why}: {version}", to_version=version)
        self.splits.invalidate()
        return move

    # ---- read-out ------------------------------------------------------------------------------
    def status(self, name: str, *, segment: str | None = None) -> Analysis:
        self.flush()
        experiment = self.store.get(name)
        return analyze(experiment, load_samples(self.db, name, segment=segment), segment_field=segment)

    @staticmethod
    def plan(
        *, baseline: float, effect: float, alpha: float = 0.05, power: float = 0.8, sd: float | None = None
    ) -> stats.SamplePlan:
        """Samples per arm to detect ``effect`` (see :func:`stats.plan_samples`)."""
        try:
            return stats.plan_samples(baseline=baseline, effect=effect, alpha=alpha, power=power, sd=sd)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None

    # ---- feedback --------------------------------------------------------------------------------
    def add_feedback(self, item: FeedbackIn, *, actor: str | None = None) -> Feedback:
        """Store feedback for a trace; NotFound when no such trace was recorded."""
        if self._check_traces and not self._trace_exists(item.trace_id):
            self.flush()  # the trace may still sit in the writer's queue
            if not self._trace_exists(item.trace_id):
                raise NotFound(f"no trace {item.trace_id!r}", hint="feedback needs the trace id a call returned")
        return self.feedback_store.add(item, actor=actor)

    def feedback(self, trace_id: str) -> list[Feedback]:
        return self.feedback_store.for_trace(trace_id)

    def scores(self, trace_id: str) -> dict[str, float]:
        """The online evaluators' scores of a trace."""
        with self.db.session() as s:
            rows = s.execute(
                select(TraceScoreRow.evaluator, TraceScoreRow.score).where(TraceScoreRow.trace_id == trace_id)
            ).all()
        return {str(name): float(score) for name, score in rows}

    def flush(self) -> None:
        if self._flush is not None:
            self._flush()

    def _trace_exists(self, trace_id: str) -> bool:
        with self.db.session() as s:
            return s.scalar(select(TraceRow.trace_id).where(TraceRow.trace_id == trace_id)) is not None


def _arms(experiment: Experiment) -> str:
    return ", ".join(a.version for a in experiment.arms)


def build_experiments(runtime: Runtime) -> Experiments:
    from promptyard.experiments.canary_controller import Alerter, Canaries

    settings = runtime.settings
    flush = getattr(runtime.tracer, "flush", None)

    def canaries(service: Experiments) -> Canaries:
        alerter = Alerter(log_path=settings.home / "traces" / "alerts.log", webhook_url=settings.canary_webhook_url)
        return Canaries(service, alert=alerter, lease_s=settings.canary_lease_s)

    return Experiments(
        runtime.db,
        runtime.registry,
        splits=SplitTable(runtime.db, ttl_s=settings.label_cache_ttl_s),
        flush=flush if callable(flush) else None,
        check_traces=settings.tracing and "sql" in settings.trace_sinks,
        canaries=canaries,
    )


__all__ = ["Experiments", "build_experiments", "higher_is_better"]
