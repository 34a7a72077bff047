"""Experiment rows: create, read, end, re-weight, with an audit event on the label for each.

Starting a split, re-weighting it (a canary step) and ending it write a ``label_events``
row (``split``, ``canary_step``, ``split_end``, ``canary_rollback``) beside the label moves,
so ``promptyard prompts history`` tells the whole story of a label. Those rows do not
move the label, and ``prompts rollback`` skips them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from promptyard.errors import ExperimentError, NotFound
from promptyard.experiments.model import Arm, Experiment, ExperimentKind, ExperimentSpec, ExperimentStatus
from promptyard.prompts.records import LabelAction
from promptyard.prompts.refs import label_not_found, version_not_found
from promptyard.store.base import utcnow
from promptyard.store.db import Database
from promptyard.store.tables.experiments import ExperimentRow
from promptyard.store.tables.registry import LabelEventRow, PromptLabelRow, PromptVersionRow


def to_record(row: ExperimentRow) -> Experiment:
    return Experiment(
        id=row.id,
        name=row.name,
        kind=row.kind,
        prompt=row.prompt_name,
        label=row.label,
        arms=[Arm.model_validate(a) for a in row.arms],
        unit=row.unit,
        primary=row.primary_metric,
        guardrails=list(row.guardrails),
        min_samples=row.min_samples,
        status=row.status,
        config=dict(row.config or {}),
        created_by=row.created_by,
        created_at=row.created_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
    )


def arms_text(arms: list[Arm]) -> str:
    total = sum(a.weight for a in arms) or 1.0
    return ",".join(f"{a.version}={100 * a.weight / total:g}%" for a in arms)


class ExperimentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self, spec: ExperimentSpec, *, kind: ExperimentKind, actor: str, config: dict[str, Any] | None = None
    ) -> Experiment:
        """A running split on ``spec.label``; refused while another split runs there."""
        with self.db.session() as s:
            label = s.get(PromptLabelRow, (spec.prompt, spec.label))
            if label is None:
                raise label_not_found(s, spec.prompt, spec.label)
            for arm in spec.arms:
                found = s.scalar(
                    select(PromptVersionRow.id).where(
                        PromptVersionRow.name == spec.prompt, PromptVersionRow.version == arm.version
                    )
                )
                if found is None:
                    raise version_not_found(s, spec.prompt, arm.version)
            if s.scalar(select(ExperimentRow.id).where(ExperimentRow.name == spec.name)) is not None:
                raise ExperimentError(f"an experiment named {spec.name!r} exists already", hint="pick another name")
            busy = self._running_on(s, spec.prompt, spec.label)
            if busy is not None:
                raise ExperimentError(
                    f"{spec.prompt}:{spec.label} is already split by {busy.kind} {busy.name!r}",
                    hint=f"stop it first: 'promptyard experiments stop {busy.name}'",
                )
            now = utcnow()
            row = ExperimentRow(
                name=spec.name,
                kind=kind,
                prompt_name=spec.prompt,
                label=spec.label,
                arms=[a.model_dump() for a in spec.arms],
                unit=spec.unit,
                primary_metric=spec.primary,
                guardrails=list(spec.guardrails),
                min_samples=spec.min_samples,
                status="running",
                config=config or {},
                created_by=actor,
                created_at=now,
            )
            s.add(row)
            s.flush()
            _audit(s, row, "split", label.version, None, actor, f"{kind} {spec.name}: {arms_text(spec.arms)}", now)
            return to_record(row)

    def get(self, name: str) -> Experiment:
        with self.db.session() as s:
            return to_record(self._row(s, name))

    def list_all(self, *, prompt: str | None = None, status: ExperimentStatus | None = None) -> list[Experiment]:
        with self.db.session() as s:
            query = select(ExperimentRow).order_by(ExperimentRow.id)
            if prompt is not None:
                query = query.where(ExperimentRow.prompt_name == prompt)
            if status is not None:
                query = query.where(ExperimentRow.status == status)
            return [to_record(r) for r in s.scalars(query)]

    def reweight(
        self,
        name: str,
        arms: list[Arm],
        *,
        actor: str,
        reason: str,
        config: dict[str, Any] | None = None,
        action: LabelAction = "canary_step",
    ) -> Experiment:
        """New weights (a canary step); the audit row says why."""
        with self.db.session() as s:
            row = self._running(s, name)
            row.arms = [a.model_dump() for a in arms]
            if config is not None:
                row.config = config
            _audit(s, row, action, None, None, actor, reason, utcnow())
            return to_record(row)

    def update_config(self, name: str, config: dict[str, Any]) -> Experiment:
        with self.db.session() as s:
            row = self._row(s, name)
            row.config = config
            return to_record(row)

    def end(
        self,
        name: str,
        status: ExperimentStatus,
        *,
        actor: str,
        reason: str,
        action: LabelAction = "split_end",
        from_version: str | None = None,
        to_version: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> Experiment:
        """End the split: every caller of the label gets the label's version again at once."""
        with self.db.session() as s:
            row = self._running(s, name)
            now = utcnow()
            row.status = status
            row.ended_at = now
            row.end_reason = reason
            if config is not None:
                row.config = config
            _audit(s, row, action, from_version, to_version, actor, reason, now)
            return to_record(row)

    # ---- helpers --------------------------------------------------------------------------
    @staticmethod
    def _row(s: Session, name: str) -> ExperimentRow:
        row = s.scalar(select(ExperimentRow).where(ExperimentRow.name == name))
        if row is None:
            names = s.scalars(select(ExperimentRow.name).order_by(ExperimentRow.id.desc()).limit(20)).all()
            raise NotFound(f"no experiment named {name!r}", available=names)
        return row

    def _running(self, s: Session, name: str) -> ExperimentRow:
        row = self._row(s, name)
        if row.status != "running":
            raise ExperimentError(f"{row.kind} {name!r} has ended ({row.status}): {row.end_reason or ''}".rstrip(": "))
        return row

    @staticmethod
    def _running_on(s: Session, prompt: str, label: str) -> ExperimentRow | None:
        return s.scalar(
            select(ExperimentRow).where(
                ExperimentRow.prompt_name == prompt, ExperimentRow.label == label, ExperimentRow.status == "running"
            )
        )


def _audit(
    s: Session,
    row: ExperimentRow,
    action: LabelAction,
    from_version: str | None,
    to_version: str | None,
    actor: str,
    reason: str,
    at: datetime,
) -> None:
    s.add(
        LabelEventRow(
            name=row.prompt_name,
            label=row.label,
            from_version=from_version,
            to_version=to_version,
            action=action,
            actor=actor,
            reason=reason,
            at=at,
        )
    )
