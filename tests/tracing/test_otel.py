"""OpenTelemetry export with GenAI semantic conventions, checked with the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from promptyard.errors import ConfigError, StoreError
from promptyard.settings import Settings
from promptyard.tracing.setup import sink_names
from promptyard.tracing.sinks.otel import OtelSink, create, otel_root_span_id, otel_trace_id
from promptyard.tracing.writer import TraceWriter

from .conftest import make_trace, rag_trace


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def _by_name(spans: Sequence[ReadableSpan]) -> dict[str, ReadableSpan]:
    return {s.name: s for s in spans}


def test_a_trace_becomes_a_genai_chat_span(exporter: InMemorySpanExporter) -> None:
    trace = make_trace(
        request_id="req-9", finish_reason="stop", cache_read_tokens=40, stream=True, latency={"ttft_ms": 42.0}
    )
    sink = OtelSink(exporter)
    sink.write([trace])
    [span] = exporter.get_finished_spans()
    assert span.name == "chat m1"
    assert span.kind is SpanKind.CLIENT
    a = dict(span.attributes or {})
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "fake"
    assert (a["gen_ai.request.model"], a["gen_ai.response.model"]) == ("m1", "m1")
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (100, 20)
    assert a["gen_ai.usage.cache_read.input_tokens"] == 40
    assert a["gen_ai.request.temperature"] == 0.2
    assert a["gen_ai.request.max_tokens"] == 64
    assert a["gen_ai.response.id"] == "req-9"
    assert tuple(a["gen_ai.response.finish_reasons"]) == ("stop",)  # type: ignore[arg-type]
    assert a["gen_ai.response.time_to_first_chunk"] == pytest.approx(0.042)
    assert a["gen_ai.prompt.name"] == "greet"
    assert a["promptyard.cost_usd"] == 0.01
    assert "Ada" not in repr(a)  # message content is never exported
    assert span.context is not None
    assert span.context.trace_id == otel_trace_id(trace.trace_id)
    assert span.context.span_id == otel_root_span_id(trace.trace_id)
    assert span.start_time == int(trace.timestamp.timestamp() * 1e9)
    assert span.end_time is not None
    assert span.end_time - span.start_time == 120_000_000
    assert span.status.status_code is StatusCode.UNSET


def test_rag_retrieval_child_span_and_subcalls_join_the_parent(exporter: InMemorySpanExporter) -> None:
    parent = rag_trace()
    sub = make_trace(kind="transform", parent_id=parent.trace_id, model="m-small")
    failed = make_trace(status="error", error_type="provider_timeout", error_message="slow")
    OtelSink(exporter).write([parent, sub, failed])
    spans = exporter.get_finished_spans()
    assert len(spans) == 4
    retrieval = _by_name(spans)["retrieval docs"]
    root = next(
        s for s in spans if s.name == "chat m1" and s.parent is None and s.status.status_code is StatusCode.UNSET
    )
    assert retrieval.parent is not None
    assert retrieval.parent.span_id == root.context.span_id  # type: ignore[union-attr]
    ra = dict(retrieval.attributes or {})
    assert ra["gen_ai.operation.name"] == "retrieval"
    assert ra["gen_ai.data_source.id"] == "docs"
    assert tuple(ra["promptyard.retrieval.chunk_ids"]) == ("c0", "c1")  # type: ignore[arg-type]
    assert retrieval.end_time - retrieval.start_time == 18_000_000  # type: ignore[operator]
    child = _by_name(spans)["chat m-small"]
    assert child.context.trace_id == otel_trace_id(parent.trace_id)  # type: ignore[union-attr]
    assert child.parent is not None
    assert child.parent.span_id == otel_root_span_id(parent.trace_id)
    err = next(s for s in spans if s.status.status_code is StatusCode.ERROR)
    assert err.status.description == "provider_timeout"
    assert dict(err.attributes or {})["error.type"] == "provider_timeout"


class FailingExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        return None


def test_failed_export_is_counted_by_the_writer() -> None:
    sink = OtelSink(FailingExporter())
    with pytest.raises(StoreError):
        sink.write([make_trace()])
    writer = TraceWriter([sink], retry_base_s=0.001)
    writer.record(make_trace())
    writer.close()
    assert writer.stats().dropped == {"sink:otel": 1}


def test_otel_is_added_when_an_endpoint_is_set(tmp_path: object) -> None:
    assert sink_names(Settings(tracing=True)) == ["jsonl", "sql"]
    assert sink_names(Settings(otlp_endpoint="http://127.0.0.1:4318")) == ["jsonl", "sql", "otel"]
    assert sink_names(Settings(tracing=False, otlp_endpoint="http://x")) == []
    with pytest.raises(ConfigError, match="PROMPTYARD_OTLP_ENDPOINT"):
        create(Settings(), None)  # type: ignore[arg-type]
    sink = create(Settings(otlp_endpoint="http://127.0.0.1:4318/"), None)  # type: ignore[arg-type]
    assert sink.exporter._endpoint == "http://127.0.0.1:4318/v1/traces"  # type: ignore[attr-defined]
    sink.close()
