"""OpenTelemetry export with the GenAI semantic conventions (``gen_ai.*`` attributes).

Each trace becomes a ``chat {model}`` span (kind CLIENT) from the trace's timestamp for
``latency.total_ms``; when retrieval ran, a child ``retrieval {corpus}`` span covers the
retrieval stages. Ids are deterministic: the OTel trace id is the promptyard trace id
(hex, left-padded to 32 digits) and sub-calls (``parent_id``) join their parent's OTel
trace, so a HyDE or judge call shows under the request that made it.

Message content (inputs, query, answer) is never exported: it stays in the JSONL traces.
Spans are exported in one ``export()`` call per writer batch (the writer already batches),
to ``PROMPTYARD_OTLP_ENDPOINT`` over OTLP/HTTP, or to any ``SpanExporter`` given (tests use
the SDK's ``InMemorySpanExporter``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace as otel
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from promptyard import __version__
from promptyard.errors import ConfigError, StoreError
from promptyard.settings import Settings
from promptyard.store.db import Database
from promptyard.tracing.model import Trace

RETRIEVAL_STAGES = ("transform_ms", "embed_ms", "vector_ms", "bm25_ms", "rerank_ms")


def otel_trace_id(trace_id: str) -> int:
    """The OTel trace id for a promptyard trace id (hex ids map directly, others are hashed)."""
    try:
        value = int(trace_id, 16)
        if 0 < value < 1 << 128:
            return value
    except ValueError:
        pass
    return int(hashlib.sha256(trace_id.encode()).hexdigest()[:32], 16) or 1


def otel_root_span_id(trace_id: str) -> int:
    return int(hashlib.sha256(f"{trace_id}:root".encode()).hexdigest()[:16], 16) or 1


class _NextIds(IdGenerator):
    """Hands out the ids set for the next span, then random ones."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()
        self.trace_id: int | None = None
        self.span_id: int | None = None

    def generate_trace_id(self) -> int:
        value, self.trace_id = self.trace_id, None
        return value or self._random.generate_trace_id()

    def generate_span_id(self) -> int:
        value, self.span_id = self.span_id, None
        return value or self._random.generate_span_id()


class _Collect(SpanProcessor):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)

    def take(self) -> list[ReadableSpan]:
        spans, self.spans = self.spans, []
        return spans


class OtelSink:
    name = "otel"

    def __init__(self, exporter: SpanExporter, *, service_name: str = "promptyard") -> None:
        self.exporter = exporter
        self._ids = _NextIds()
        self._collect = _Collect()
        self._provider = TracerProvider(
            resource=Resource.create({"service.name": service_name, "service.version": __version__}),
            id_generator=self._ids,
        )
        self._provider.add_span_processor(self._collect)
        self._tracer = self._provider.get_tracer("promptyard.tracing", __version__)
        self._lock = threading.Lock()

    def write(self, traces: Sequence[Trace]) -> None:
        with self._lock:
            for trace in traces:
                self._emit(trace)
            spans = self._collect.take()
        if spans and self.exporter.export(spans) is not SpanExportResult.SUCCESS:
            raise StoreError(f"OTLP export of {len(spans)} spans failed")

    def close(self) -> None:
        self._provider.shutdown()
        self.exporter.shutdown()

    def _emit(self, t: Trace) -> None:
        start = int(t.timestamp.timestamp() * 1e9)
        end = start + int(t.latency.total_ms * 1e6)
        context: Context | None = None
        if t.parent_id:
            parent = SpanContext(
                trace_id=otel_trace_id(t.parent_id),
                span_id=otel_root_span_id(t.parent_id),
                is_remote=True,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )
            context = otel.set_span_in_context(otel.NonRecordingSpan(parent))
        else:
            self._ids.trace_id = otel_trace_id(t.trace_id)
        self._ids.span_id = otel_root_span_id(t.trace_id)
        model = t.model or str(t.config.get("model", "unknown"))
        span = self._tracer.start_span(
            f"chat {model}", context=context, kind=SpanKind.CLIENT, attributes=genai_attributes(t), start_time=start
        )
        retrieval_ms = sum(getattr(t.latency, s) or 0.0 for s in RETRIEVAL_STAGES)
        if any(getattr(t.latency, s) is not None for s in RETRIEVAL_STAGES):
            child = self._tracer.start_span(
                f"retrieval {t.corpus or ''}".strip(),
                context=otel.set_span_in_context(span),
                kind=SpanKind.INTERNAL,
                attributes=retrieval_attributes(t),
                start_time=start,
            )
            child.end(end_time=start + int(retrieval_ms * 1e6))
        if t.status == "error":
            span.set_status(Status(StatusCode.ERROR, t.error_type or "error"))
        span.end(end_time=max(end, start))


def genai_attributes(t: Trace) -> dict[str, Any]:
    """GenAI semantic-convention attributes, plus ``promptyard.*`` ones."""
    cfg = t.config
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": t.provider or "unknown",
        "gen_ai.request.model": str(cfg.get("model") or t.model or "unknown"),
        "gen_ai.usage.input_tokens": t.input_tokens,
        "gen_ai.usage.output_tokens": t.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": t.cache_read_tokens,
        "gen_ai.usage.cache_creation.input_tokens": t.cache_write_tokens,
        "gen_ai.request.stream": t.stream,
        "promptyard.trace_id": t.trace_id,
        "promptyard.kind": t.kind,
        "promptyard.status": t.status,
        "promptyard.project": t.project,
        "promptyard.cost_usd": t.cost_usd,
        "promptyard.answer_cache_hit": t.answer_cache_hit,
        "promptyard.retries": t.retries,
        "promptyard.degraded": t.degraded,
    }
    optional: dict[str, Any] = {
        "gen_ai.response.model": t.model,
        "gen_ai.response.id": t.request_id,
        "gen_ai.response.finish_reasons": [t.finish_reason] if t.finish_reason else None,
        "gen_ai.request.temperature": cfg.get("temperature"),
        "gen_ai.request.max_tokens": cfg.get("max_tokens"),
        "gen_ai.request.top_p": cfg.get("top_p"),
        "gen_ai.request.seed": cfg.get("seed"),
        "gen_ai.prompt.name": t.prompt_name,
        "gen_ai.data_source.id": t.corpus,
        "gen_ai.response.time_to_first_chunk": None if t.latency.ttft_ms is None else t.latency.ttft_ms / 1000,
        "error.type": t.error_type if t.status == "error" else None,
        "promptyard.prompt.version": t.prompt_version,
        "promptyard.prompt.label": t.prompt_label,
        "promptyard.transform": t.transform,
        "promptyard.fallback_used": t.fallback_used,
        "promptyard.parent_id": t.parent_id,
        "promptyard.end_user": t.end_user,
    }
    attrs.update({k: v for k, v in optional.items() if isinstance(v, str | int | float | bool | list)})
    return attrs


def retrieval_attributes(t: Trace) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "retrieval",
        "promptyard.retrieval.chunk_ids": list(t.context_chunk_ids),
        "promptyard.retrieval.candidates.vector": len(t.vector_candidates),
        "promptyard.retrieval.candidates.bm25": len(t.bm25_candidates),
    }
    if t.corpus:
        attrs["gen_ai.data_source.id"] = t.corpus
    for stage in RETRIEVAL_STAGES:
        ms = getattr(t.latency, stage)
        if ms is not None:
            attrs[f"promptyard.latency.{stage}"] = ms
    return attrs


def exporter_for(endpoint: str) -> SpanExporter:
    """An OTLP/HTTP exporter; ``/v1/traces`` is appended unless the URL already ends with it."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    url = endpoint.rstrip("/")
    if not url.endswith("/v1/traces"):
        url += "/v1/traces"
    return OTLPSpanExporter(endpoint=url, timeout=10)


def create(settings: Settings, db: Database) -> OtelSink:
    """Entry point ``promptyard.trace_sinks: otel``: export to ``PROMPTYARD_OTLP_ENDPOINT``."""
    if not settings.otlp_endpoint:
        raise ConfigError("the otel trace sink needs PROMPTYARD_OTLP_ENDPOINT", hint="e.g. http://127.0.0.1:4318")
    return OtelSink(exporter_for(settings.otlp_endpoint))
