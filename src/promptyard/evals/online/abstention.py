"""``abstention``: 1.0 when the model answered, 0.0 when it declined ("I don't know", an
empty answer), by the same patterns the offline ``abstained`` metric uses."""

from __future__ import annotations

from promptyard.evals.metrics import detect_abstention
from promptyard.prompts.model import PromptSpec
from promptyard.settings import Settings
from promptyard.tracing.model import Trace


class AbstentionCheck:
    name = "abstention"

    def score(self, trace: Trace, spec: PromptSpec | None) -> float | None:
        return 0.0 if detect_abstention(trace.answer or "") else 1.0


def create(settings: Settings) -> AbstentionCheck:
    return AbstentionCheck()
