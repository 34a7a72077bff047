"""Runs and per-item results in the database.

Each finished item is committed in its own transaction as soon as it finishes, so an
interrupted run loses at most the items in flight. ``(run_id, item_id)`` is unique: a
resumed run skips items already done; an item that ended in an error is replaced when
it is retried.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from promptyard.errors import NotFound
from promptyard.evals.model import ItemResult, JudgeVerdict, RunConfig, RunInfo, RunStatus
from promptyard.store.base import utcnow
from promptyard.store.db import Database
from promptyard.store.tables.evals import EvalResultRow, EvalRunRow
from promptyard.tracing.model import new_trace_id

RESUMABLE: tuple[RunStatus, ...] = ("running", "interrupted")


def new_run_id() -> str:
    """Sortable and unique: the trace-id clock prefix plus random hex."""
    return "run-" + new_trace_id()[:12] + os.urandom(3).hex()


class RunStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ---- runs ---------------------------------------------------------------------
    def create(self, config: RunConfig, *, total: int, actor: str) -> RunInfo:
        row = EvalRunRow(
            run_id=new_run_id(),
            kind=config.kind,
            prompt_name=config.prompt_name,
            prompt_version=config.prompt_version,
            dataset_id=config.dataset_id,
            dataset_name=config.dataset_name,
            dataset_version=config.dataset_version,
            config=config.model_dump(mode="json"),
            config_hash=config.config_hash(),
            status="running",
            total_items=total,
            created_by=actor,
        )
        with self._db.session() as s:
            s.add(row)
            s.flush()
            return _run_info(row)

    def find_resumable(self, config: RunConfig) -> RunInfo | None:
        """The latest unfinished run with exactly this config."""
        with self._db.session() as s:
            row = s.scalar(
                select(EvalRunRow)
                .where(EvalRunRow.config_hash == config.config_hash(), EvalRunRow.status.in_(RESUMABLE))
                .order_by(EvalRunRow.created_at.desc(), EvalRunRow.run_id.desc())
                .limit(1)
            )
            return _run_info(row) if row else None

    def get(self, run_id: str) -> RunInfo:
        """A run by id, or by a unique prefix of its id."""
        with self._db.session() as s:
            row = s.get(EvalRunRow, run_id)
            if row is None:
                rows = s.scalars(select(EvalRunRow).where(EvalRunRow.run_id.startswith(run_id)).limit(2)).all()
                row = rows[0] if len(rows) == 1 else None
            if row is None:
                raise NotFound(f"no eval run {run_id!r}", hint="list runs with 'promptyard eval runs'")
            return _run_info(row)

    def set_status(self, run_id: str, status: RunStatus) -> None:
        with self._db.session() as s:
            row = s.get(EvalRunRow, run_id)
            if row is not None:
                row.status = status
                row.updated_at = utcnow()

    def finish(self, run_id: str, *, aggregates: dict[str, Any], report_path: str | None) -> RunInfo:
        with self._db.session() as s:
            row = s.get(EvalRunRow, run_id)
            if row is None:
                raise NotFound(f"no eval run {run_id!r}")
            row.status = "completed"
            row.aggregates = aggregates
            row.report_path = report_path
            row.finished_at = row.updated_at = utcnow()
            s.flush()
            return _run_info(row)

    def list_runs(
        self,
        *,
        prompt_name: str | None = None,
        prompt_version: str | None = None,
        dataset_id: int | None = None,
        kind: str | None = None,
        status: RunStatus | None = None,
        limit: int = 50,
    ) -> list[RunInfo]:
        """Runs, newest first, filtered."""
        query = select(EvalRunRow)
        if prompt_name is not None:
            query = query.where(EvalRunRow.prompt_name == prompt_name)
        if prompt_version is not None:
            query = query.where(EvalRunRow.prompt_version == prompt_version)
        if dataset_id is not None:
            query = query.where(EvalRunRow.dataset_id == dataset_id)
        if kind is not None:
            query = query.where(EvalRunRow.kind == kind)
        if status is not None:
            query = query.where(EvalRunRow.status == status)
        query = query.order_by(EvalRunRow.created_at.desc(), EvalRunRow.run_id.desc()).limit(limit)
        with self._db.session() as s:
            return [_run_info(r) for r in s.scalars(query)]

    # ---- results ------------------------------------------------------------------
    def done_ids(self, run_id: str) -> set[str]:
        """Items that need no more work: finished or skipped (errors are retried)."""
        with self._db.session() as s:
            rows = s.scalars(
                select(EvalResultRow.item_id).where(EvalResultRow.run_id == run_id, EvalResultRow.status != "error")
            )
            return set(rows)

    def save(self, run_id: str, result: ItemResult) -> None:
        """Commit one item's result, replacing an earlier error for the same item."""
        with self._db.session() as s:
            s.execute(
                delete(EvalResultRow).where(
                    EvalResultRow.run_id == run_id,
                    EvalResultRow.item_id == result.item_id,
                    EvalResultRow.status == "error",
                )
            )
            s.add(
                EvalResultRow(
                    run_id=run_id,
                    item_id=result.item_id,
                    position=result.position,
                    status=result.status,
                    output=result.output,
                    error=result.error,
                    metrics=result.metrics,
                    judge=result.judge.model_dump() if result.judge else None,
                    extra=result.extra,
                    cost_usd=result.cost_usd,
                    input_tokens=result.input_tokens,
                    output_tokens=result.output_tokens,
                    latency_ms=result.latency_ms,
                    cache_hit=result.cache_hit,
                    trace_id=result.trace_id,
                )
            )
            row = s.get(EvalRunRow, run_id)
            if row is not None:
                row.updated_at = utcnow()

    def save_many(self, run_id: str, results: Sequence[ItemResult]) -> None:
        for result in results:
            self.save(run_id, result)

    def results(self, run_id: str) -> list[ItemResult]:
        """Every stored result of the run, in dataset order."""
        with self._db.session() as s:
            rows = s.scalars(
                select(EvalResultRow).where(EvalResultRow.run_id == run_id).order_by(EvalResultRow.position)
            ).all()
            return [_result(r) for r in rows]


def _run_info(row: EvalRunRow) -> RunInfo:
    return RunInfo(
        run_id=row.run_id,
        kind=row.kind,
        prompt_name=row.prompt_name,
        prompt_version=row.prompt_version,
        dataset_id=row.dataset_id,
        dataset_name=row.dataset_name,
        dataset_version=row.dataset_version,
        config=RunConfig.model_validate(row.config),
        status=row.status,
        total_items=row.total_items,
        aggregates=row.aggregates,
        report_path=row.report_path,
        created_by=row.created_by,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def _result(row: EvalResultRow) -> ItemResult:
    return ItemResult(
        item_id=row.item_id,
        position=row.position,
        status=row.status,
        output=row.output,
        error=row.error,
        metrics=row.metrics,
        judge=JudgeVerdict.model_validate(row.judge) if row.judge else None,
        extra=row.extra,
        cost_usd=row.cost_usd,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        latency_ms=row.latency_ms,
        cache_hit=row.cache_hit,
        trace_id=row.trace_id,
    )
