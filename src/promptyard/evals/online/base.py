"""The online evaluator seam: one check scores one finished trace in [0, 1], or abstains (None).

Adapters register under the ``promptyard.online_evaluators`` entry-point group; each is a
``create(settings) -> OnlineCheck`` factory in its own file. They run in the trace writer's
thread, after the trace is stored, so they must be cheap and must not call a model.
"""

from __future__ import annotations

from typing import Protocol

from promptyard.prompts.model import PromptSpec
from promptyard.tracing.model import Trace


class OnlineCheck(Protocol):
    name: str

    def score(self, trace: Trace, spec: PromptSpec | None) -> float | None:
        """1.0 good, 0.0 bad, None when the check does not apply to this trace."""
        ...
