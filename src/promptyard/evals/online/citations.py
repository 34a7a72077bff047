"""``citations``: the share of the answer's citations that point at a document in its context
(the RAG pipeline's own verdicts on the trace); None for a trace without citations."""

from __future__ import annotations

from promptyard.prompts.model import PromptSpec
from promptyard.settings import Settings
from promptyard.tracing.model import Trace


class CitationCheck:
    name = "citations"

    def score(self, trace: Trace, spec: PromptSpec | None) -> float | None:
        if not trace.citations:
            return None
        return sum(c.valid for c in trace.citations) / len(trace.citations)


def create(settings: Settings) -> CitationCheck:
    return CitationCheck()
