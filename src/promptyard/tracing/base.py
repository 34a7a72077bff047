"""The trace-sink seam: one small protocol, one adapter per file in ``tracing/sinks/``.

A sink receives batches of finished traces from the background writer thread
(:mod:`promptyard.tracing.writer`), never from the request path. ``write`` may block
and may raise: the writer retries, counts and logs failures, so a sink stays plain.
Sinks are found through the ``promptyard.trace_sinks`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from promptyard.tracing.model import Trace


@runtime_checkable
class TraceSink(Protocol):
    """Somewhere traces are written: JSONL files, SQL summary rows, an OTLP endpoint."""

    name: str

    def write(self, traces: Sequence[Trace]) -> None:
        """Persist a batch. Called from one writer thread at a time."""
        ...

    def close(self) -> None:
        """Release files and connections; the writer calls it after the final flush."""
        ...
