"""Weighted splits on a label: sticky, deterministic assignment on the gateway's hot path.

A unit (end user, session or API key, as the experiment says) lands in the bucket
``sha256("<experiment id>:<unit id>")`` read as a number in ``[0, 1)``, and the arms own
consecutive ranges of ``[0, 1)`` in proportion to their weights. So the same unit gets
the same arm on every call, in every process and after every restart, until the weights
change; no assignment is stored. A canary lists its new version first, so widening the
canary's range keeps the units that already had the new version on it.

A call without the configured unit (no ``end_user`` for ``--unit user``) is assigned at
random per call and its trace records no unit. The running splits are read from the
database in one query and cached for ``PROMPTYARD_LABEL_CACHE_TTL_S`` like label targets;
this process's own starts and stops drop the cache at once. While the database is down the
splits read before stay in force (counted in ``database_stale_served``).
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Sequence

from sqlalchemy import select

from promptyard import dependencies
from promptyard.errors import DependencyUnavailable
from promptyard.experiments.model import Arm, Assignment, Experiment, Unit
from promptyard.gateway.base import CallContext
from promptyard.store.db import Database
from promptyard.store.tables.experiments import ExperimentRow

_SCALE = float(2**64)
_RETRY_S = 1.0  # while the database is down, try again this often


def bucket(experiment_id: int, unit_id: str) -> float:
    """The unit's fixed position in ``[0, 1)`` for this experiment."""
    digest = hashlib.sha256(f"{experiment_id}:{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def pick(arms: Sequence[Arm], position: float) -> str:
    """The arm whose range of ``[0, 1)`` holds ``position``."""
    total = sum(a.weight for a in arms)
    edge = 0.0
    for arm in arms:
        edge += arm.weight / total
        if position < edge:
            return arm.version
    return next(a.version for a in reversed(arms) if a.weight > 0)


def unit_id(unit: Unit, ctx: CallContext) -> str | None:
    if unit == "user":
        return ctx.end_user
    if unit == "session":
        return ctx.session
    return ctx.api_key_id


def assign(experiment: Experiment, ctx: CallContext, rand: Callable[[], float] = random.random) -> Assignment:
    uid = unit_id(experiment.unit, ctx)
    position = bucket(experiment.id, uid) if uid is not None else rand()
    return Assignment(experiment=experiment.name, version=pick(experiment.arms, position), unit=uid)


class SplitTable:
    """The running splits by (prompt, label), cached; the gateway's ``SplitSource``."""

    def __init__(
        self,
        db: Database,
        *,
        ttl_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._db = db
        self._ttl = ttl_s
        self._clock = clock
        self._rand = rand
        self._splits: dict[tuple[str, str], Experiment] = {}
        self._expires = -1.0
        self._loaded = False

    def assign(self, name: str, label: str, ctx: CallContext) -> Assignment | None:
        """The arm for this call, or None when no split runs on ``name:label``."""
        if self._clock() >= self._expires:
            self._load()
        experiment = self._splits.get((name, label))
        if experiment is None:
            return None
        return assign(experiment, ctx, self._rand)

    def invalidate(self) -> None:
        self._expires = -1.0

    def _load(self) -> None:
        from promptyard.experiments.store import to_record

        try:
            with self._db.session() as s:
                rows = s.scalars(select(ExperimentRow).where(ExperimentRow.status == "running")).all()
                self._splits = {(r.prompt_name, r.label): to_record(r) for r in rows}
        except DependencyUnavailable as exc:
            # The database is down: the splits loaded before stay in force, like label targets
            # (docs/scale-out.md); a table never loaded cannot be guessed.
            if not self._loaded:
                raise
            dependencies.served_stale("experiment splits", exc)
            self._expires = self._clock() + _RETRY_S
            return
        self._loaded = True
        self._expires = self._clock() + self._ttl if self._ttl > 0 else -1.0
