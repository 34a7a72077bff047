"""Scoring a sampled share of live traffic: a trace-writer observer.

``PROMPTYARD_ONLINE_EVAL_SAMPLE`` gives the share per prompt (``{"greet": 0.5, "*": 0.05}``;
``*`` for every other prompt). A trace is in the sample when ``sha256(trace id)`` falls
below the share, so the choice is deterministic and independent of arms. The checks in
``PROMPTYARD_ONLINE_EVALUATORS`` run in the writer's thread after the trace is stored, and
their scores go to ``trace_scores`` (``experiments status`` and canaries read them as
``score.<check>``). Only successful top-level prompt traces with an unredacted answer count.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence

from sqlalchemy import select

from promptyard import plugins
from promptyard.evals.online.base import OnlineCheck
from promptyard.prompts.model import PromptSpec
from promptyard.settings import Settings
from promptyard.store.base import utcnow
from promptyard.store.db import Database
from promptyard.store.tables.experiments import TraceScoreRow
from promptyard.store.tables.registry import PromptVersionRow
from promptyard.tracing.model import Trace
from promptyard.tracing.redact import REDACTED

GROUP = "promptyard.online_evaluators"
log = logging.getLogger("promptyard.evals.online")


def sampled(trace_id: str, share: float) -> bool:
    digest = hashlib.sha256(trace_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


class OnlineScorer:
    def __init__(self, settings: Settings, db: Callable[[], Database], checks: Sequence[OnlineCheck] | None = None):
        self.shares = dict(settings.online_eval_sample)
        self.db = db
        self.checks = (
            list(checks)
            if checks is not None
            else [plugins.get(GROUP, n)(settings) for n in settings.online_evaluators]
        )
        self._specs: dict[tuple[str, str], PromptSpec | None] = {}

    def share_of(self, prompt: str) -> float:
        return self.shares.get(prompt, self.shares.get("*", 0.0))

    def observe(self, batch: Sequence[Trace]) -> None:
        """The writer's observer hook: score the sampled traces of a stored batch."""
        rows: list[TraceScoreRow] = []
        now = utcnow()
        for trace in batch:
            if not self._eligible(trace):
                continue
            spec = self._spec(str(trace.prompt_name), str(trace.prompt_version))
            for check in self.checks:
                score = check.score(trace, spec)
                if score is not None:
                    rows.append(TraceScoreRow(trace_id=trace.trace_id, evaluator=check.name, score=score, at=now))
        if rows:
            with self.db().session() as s:
                s.add_all(rows)

    def _eligible(self, trace: Trace) -> bool:
        if trace.kind not in ("prompt", "rag") or trace.status != "ok" or trace.parent_id is not None:
            return False
        if not trace.prompt_name or trace.answer is None or trace.answer == REDACTED:
            return False
        return sampled(trace.trace_id, self.share_of(trace.prompt_name))

    def _spec(self, name: str, version: str) -> PromptSpec | None:
        key = (name, version)
        if key not in self._specs:
            with self.db().session() as s:
                raw = s.scalar(
                    select(PromptVersionRow.spec).where(
                        PromptVersionRow.name == name, PromptVersionRow.version == version
                    )
                )
            self._specs[key] = PromptSpec.model_validate(raw) if raw is not None else None
        return self._specs[key]
