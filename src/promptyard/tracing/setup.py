"""Building the recorder the runtime hands to the gateway.

``PROMPTYARD_TRACING=true`` (default): a writer for every sink in ``PROMPTYARD_TRACE_SINKS``
(JSONL + SQL by default; ``otel`` added when ``PROMPTYARD_OTLP_ENDPOINT`` is set) feeding the
Prometheus metrics: a :class:`ProcessTraceWriter` (sinks in a writer process,
``PROMPTYARD_TRACE_WRITER=process``, and ``auto``, the default, in a server) or a
:class:`TraceWriter` (a thread).
``PROMPTYARD_TRACING=false``: a :class:`NullRecorder`, and the gateway skips building
traces at all; ``/metrics`` then still has the gateway's own counters (calls, errors,
cache hits, retries, ...), but not the per-model token, cost and latency series.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from promptyard import plugins
from promptyard.settings import Settings
from promptyard.store.db import Database
from promptyard.tracing.base import TraceSink
from promptyard.tracing.metrics import Metrics
from promptyard.tracing.model import NullRecorder, Trace
from promptyard.tracing.process import ProcessTraceWriter
from promptyard.tracing.writer import TraceWriter

GROUP = "promptyard.trace_sinks"


def sink_names(settings: Settings) -> list[str]:
    if not settings.tracing:
        return []
    names = list(dict.fromkeys(settings.trace_sinks))
    if settings.otlp_endpoint and "otel" not in names:
        names.append("otel")
    return names


def build_sinks(settings: Settings, db: Callable[[], Database]) -> list[TraceSink]:
    sinks: list[TraceSink] = []
    for name in sink_names(settings):
        sink: TraceSink = plugins.get(GROUP, name)(settings, db())
        sinks.append(sink)
    return sinks


def build_recorder(
    settings: Settings, db: Callable[[], Database], metrics: Metrics | None = None, *, serving: bool = False
) -> TraceWriter | ProcessTraceWriter | NullRecorder:
    """What ``runtime.tracer`` is: the writer, or a NullRecorder when tracing is off.

    ``PROMPTYARD_TRACE_WRITER=auto`` picks the writer process for a server (``serving``) and the
    thread elsewhere: a one-shot CLI command does not wait ~0.6 s for a process to start.
    """
    if not settings.tracing:
        return NullRecorder()
    mode = settings.trace_writer
    if mode == "auto":
        mode = "process" if serving else "thread"
    if mode == "process":
        return build_process_writer(settings, db, metrics)
    return build_writer(settings, db, metrics)


def build_process_writer(
    settings: Settings, db: Callable[[], Database], metrics: Metrics | None = None
) -> ProcessTraceWriter:
    db()  # migrations run here, once, before the writer process opens the database
    writer = ProcessTraceWriter(
        settings,
        sink_names=sink_names(settings),
        queue_size=settings.trace_queue_size,
        batch_size=settings.trace_batch_size,
        flush_interval_s=settings.trace_flush_interval_s,
        observers=[metrics.observe_one] if metrics is not None else [],
    )
    if metrics is not None:
        metrics.watch(writer)
    return writer


def build_writer(settings: Settings, db: Callable[[], Database], metrics: Metrics | None = None) -> TraceWriter:
    writer = TraceWriter(
        build_sinks(settings, db),
        queue_size=settings.trace_queue_size,
        batch_size=settings.trace_batch_size,
        flush_interval_s=settings.trace_flush_interval_s,
        redact_mode=settings.trace_redact,
        retry_for_s=settings.trace_sink_retry_s,
        observers=[*([metrics.observe] if metrics is not None else []), *online_observers(settings, db)],
    )
    if metrics is not None:
        metrics.watch(writer)
    return writer


def online_observers(settings: Settings, db: Callable[[], Database]) -> list[Callable[[Sequence[Trace]], None]]:
    """The online evaluators' observer, when ``PROMPTYARD_ONLINE_EVAL_SAMPLE`` is set."""
    if not settings.online_eval_sample:
        return []
    from promptyard.evals.online.scorer import OnlineScorer

    return [OnlineScorer(settings, db).observe]
