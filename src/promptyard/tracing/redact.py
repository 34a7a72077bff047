"""Redaction applied to every trace before any sink sees it (``PROMPTYARD_TRACE_REDACT``).

``inputs`` removes what the caller sent (variables, the query); ``all`` also removes what
the model and the retriever produced from it (answer, transform outputs, error text).
Structure (ids, counts, scores, tokens, costs, latencies) is always kept.
"""

from __future__ import annotations

from typing import Any

from promptyard.settings import RedactMode
from promptyard.tracing.model import Trace

REDACTED = "[redacted]"


def redact(trace: Trace, mode: RedactMode) -> Trace:
    if mode == "none":
        return trace
    update: dict[str, Any] = {
        "inputs": None if trace.inputs is None else dict.fromkeys(trace.inputs, REDACTED),
        "query": None if trace.query is None else REDACTED,
        "flags": sorted({*trace.flags, "redacted"}),
    }
    if mode == "all":
        update |= {
            "answer": None if trace.answer is None else REDACTED,
            "transform_outputs": [REDACTED for _ in trace.transform_outputs],
            "error_message": None if trace.error_message is None else REDACTED,
        }
    return trace.model_copy(update=update)
