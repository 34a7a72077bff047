"""Per-version numbers for the prompt pages: recent traffic, cost, error rate and eval scores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import case, func, select

from promptyard.evals.runs import RunStore
from promptyard.store.db import Database
from promptyard.store.tables.tracing import TraceRow

__all__ = ["EvalScore", "VersionTraffic", "eval_scores", "traffic"]


class VersionTraffic(BaseModel):
    """Top-level requests to one ``name@version`` in the window."""

    name: str
    version: str
    requests: int = 0
    errors: int = 0
    cost_usd: float = 0.0
    avg_ms: float | None = None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None


class EvalScore(BaseModel):
    """The headline metrics of the latest completed eval run of one version."""

    version: str
    run_id: str
    dataset: str | None
    metrics: dict[str, float]


def traffic(
    db: Database, *, days: int = 7, name: str | None = None, now: datetime | None = None
) -> dict[tuple[str, str], VersionTraffic]:
    """``(name, version) -> VersionTraffic`` over the last ``days`` days (sub-calls excluded)."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    q = (
        select(
            TraceRow.prompt_name,
            TraceRow.prompt_version,
            func.count(),
            func.sum(case((TraceRow.status == "error", 1), else_=0)),
            func.sum(TraceRow.cost_usd),
            func.avg(TraceRow.total_ms),
        )
        .where(TraceRow.ts >= since, TraceRow.parent_id.is_(None), TraceRow.prompt_name.is_not(None))
        .group_by(TraceRow.prompt_name, TraceRow.prompt_version)
    )
    if name is not None:
        q = q.where(TraceRow.prompt_name == name)
    out: dict[tuple[str, str], VersionTraffic] = {}
    with db.session() as s:
        for prompt, version, n, errors, cost, avg_ms in s.execute(q):
            key = (str(prompt), str(version or "?"))
            out[key] = VersionTraffic(
                name=key[0],
                version=key[1],
                requests=int(n),
                errors=int(errors or 0),
                cost_usd=float(cost or 0.0),
                avg_ms=None if avg_ms is None else float(avg_ms),
            )
    return out


def eval_scores(db: Database, name: str) -> dict[str, EvalScore]:
    """``version -> EvalScore`` from each version's latest completed run (mean of each metric)."""
    out: dict[str, EvalScore] = {}
    for run in RunStore(db).list_runs(prompt_name=name, status="completed", limit=200):
        if run.prompt_version in out:
            continue  # newest first: the first one seen is the latest
        metrics = (run.aggregates or {}).get("metrics", {})
        means = {m: float(v["mean"]) for m, v in metrics.items() if isinstance(v, dict) and v.get("mean") is not None}
        out[run.prompt_version] = EvalScore(
            version=run.prompt_version, run_id=run.run_id, dataset=run.dataset_name, metrics=means
        )
    return out
