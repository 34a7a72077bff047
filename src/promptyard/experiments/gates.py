"""Eval-gated promotion: a label may demand a non-regressing eval run before it moves.

``PROMPTYARD_EVAL_GATES`` maps ``label`` or ``prompt:label`` to a dataset name, e.g.
``{"production": "golden"}``. Moving such a label (``prompts label``, ``experiments
promote``, a canary start or its final promotion) to a version needs a completed eval run
of that version on the dataset and one of the label's current version on the *same
dataset version*; their comparison (:func:`promptyard.evals.compare.compare_results`,
paired by item) must not be ``regressed`` (primary metric delta below
``-PROMPTYARD_EVAL_GATE_THRESHOLD``). Otherwise the move is refused with
:class:`EvalGateRefused`, saying what is missing and the command that fixes it.
A rollback is never gated: it returns to a version the label already had.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import select

from promptyard.errors import EvalGateRefused, ExperimentError
from promptyard.prompts.records import LabelAction
from promptyard.prompts.registry import LabelGate
from promptyard.settings import Settings
from promptyard.store.db import Database
from promptyard.store.tables.experiments import ExperimentRow

if TYPE_CHECKING:  # the evals stack (numpy) loads only when a gate is actually checked
    from promptyard.evals.model import RunInfo
    from promptyard.evals.runs import RunStore


def gate_dataset(gates: Mapping[str, str], prompt: str, label: str) -> str | None:
    return gates.get(f"{prompt}:{label}", gates.get(label))


def _runs(store: RunStore, prompt: str, version: str, dataset: str) -> list[RunInfo]:
    runs = store.list_runs(prompt_name=prompt, prompt_version=version, status="completed", limit=500)
    return [r for r in runs if r.dataset_name == dataset]


def check_eval_gate(
    db: Database,
    gates: Mapping[str, str],
    *,
    prompt: str,
    label: str,
    version: str,
    current: str | None,
    threshold: float,
) -> None:
    """Raise EvalGateRefused unless ``version`` may take ``label`` (see the module docstring)."""
    dataset = gate_dataset(gates, prompt, label)
    if dataset is None or current is None or current == version:
        return
    from promptyard.evals.compare import compare_results
    from promptyard.evals.runs import RunStore

    where = f"label {prompt}:{label} is gated on dataset {dataset!r}"
    fix = f"run 'promptyard eval compare {prompt}@{current} {prompt}@{version} --dataset {dataset}'"
    store = RunStore(db)
    candidate = _runs(store, prompt, version, dataset)
    if not candidate:
        raise EvalGateRefused(f"{where}, and {prompt}@{version} has no completed eval run on it", hint=fix)
    baseline = {r.dataset_version: r for r in reversed(_runs(store, prompt, current, dataset))}
    pair = next(((baseline[r.dataset_version], r) for r in candidate if r.dataset_version in baseline), None)
    if pair is None:
        raise EvalGateRefused(
            f"{where}, and {prompt}@{current} (the current version) has no run on the same dataset version", hint=fix
        )
    run_a, run_b = pair
    comparison = compare_results(
        run_a, store.results(run_a.run_id), run_b, store.results(run_b.run_id), threshold=threshold
    )
    primary = comparison.primary_delta
    if comparison.regressed and primary is not None:
        raise EvalGateRefused(
            f"{where}: {prompt}@{version} regresses {primary.metric} by {primary.delta:+.4f} "
            f"(95% CI [{primary.ci_low:+.4f}, {primary.ci_high:+.4f}]) against {current} "
            f"on {run_b.dataset_ref} (runs {run_a.run_id} -> {run_b.run_id}; limit -{threshold:g})",
            hint="fix the regression and re-run the eval, or change PROMPTYARD_EVAL_GATES",
        )


def check_no_split(db: Database, prompt: str, label: str, action: LabelAction) -> None:
    """A label under a running split moves only by that split's promotion (or a rollback)."""
    if action == "promote":
        return
    with db.session() as s:
        busy = s.scalar(
            select(ExperimentRow).where(
                ExperimentRow.prompt_name == prompt, ExperimentRow.label == label, ExperimentRow.status == "running"
            )
        )
        if busy is None:
            return
        kind, name = busy.kind, busy.name
    command = "canary" if kind == "canary" else "experiments"
    raise ExperimentError(
        f"{prompt}:{label} is split by {kind} {name!r}; a hand move now would be overridden by the split",
        hint=f"'promptyard {command} stop {name}' first, or promote it",
    )


def label_gate(db: Database, settings: Settings) -> LabelGate:
    """The registry's hook: no hand moves under a running split, then ``settings.eval_gates``."""

    def gate(prompt: str, label: str, version: str, current: str | None, action: LabelAction) -> None:
        if current == version:
            return
        check_no_split(db, prompt, label, action)
        if not settings.eval_gates:
            return
        check_eval_gate(
            db,
            settings.eval_gates,
            prompt=prompt,
            label=label,
            version=version,
            current=current,
            threshold=settings.eval_gate_threshold,
        )

    return gate
