"""The process trace writer: the sinks run in a child process, every trace still accounted for."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from promptyard.settings import Settings
from promptyard.store.db import Database
from promptyard.store.tables.tracing import TraceRow
from promptyard.tracing.model import Trace
from promptyard.tracing.process import ProcessTraceWriter, settings_payload
from promptyard.tracing.reader import TraceReader
from promptyard.tracing.setup import build_recorder

from .conftest import make_trace


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'py.db'}", **kw)  # type: ignore[arg-type]


def _rows(url: str) -> int:
    db = Database(url, migrate=False)
    try:
        with db.session() as s:
            return int(s.scalar(select(func.count()).select_from(TraceRow)) or 0)
    finally:
        db.dispose()


def test_every_trace_reaches_jsonl_and_sql_through_the_writer_process(tmp_path: Path) -> None:
    settings = _settings(tmp_path, trace_writer="process", trace_batch_size=64, trace_flush_interval_s=0.01)
    seen: list[str] = []

    def observe(trace: Trace) -> None:
        seen.append(trace.trace_id)

    writer = build_recorder(settings, lambda: Database(settings.resolved_database_url))
    assert isinstance(writer, ProcessTraceWriter)
    writer._observers.append(observe)
    sent = [make_trace(answer=f"a{i}") for i in range(300)]
    for t in sent:
        writer.record(t)
    assert seen == [t.trace_id for t in sent]  # metrics see each trace as it is recorded
    assert writer.flush(60)
    stats = writer.stats()
    assert stats.accepted == stats.processed == 300
    assert stats.written == {"jsonl": 300, "sql": 300}
    assert stats.dropped == {}
    assert stats.queue_depth == 0
    writer.record(make_trace(answer="last"))
    writer.close()
    lines = sorted(t.answer or "" for t in TraceReader(settings.home / "traces").iter_days())
    assert lines == sorted([f"a{i}" for i in range(300)] + ["last"])
    assert _rows(settings.resolved_database_url) == 301
    assert writer.stats().written == {"jsonl": 301, "sql": 301}


def test_a_full_queue_is_counted_never_waited_for(tmp_path: Path) -> None:
    settings = _settings(tmp_path, trace_sinks=["jsonl"])
    writer = ProcessTraceWriter(settings, sink_names=["jsonl"], queue_size=10, batch_size=1000, flush_interval_s=60)
    for _ in range(50):
        writer.record(make_trace())
    stats = writer.stats()
    assert stats.dropped == {"queue_full": 40}
    assert stats.queue_depth == 10
    assert writer.dropped_total == 40
    writer.close()
    assert writer.stats().written == {"jsonl": 10}
    assert sum(1 for _ in TraceReader(settings.home / "traces").iter_days()) == 10


def test_a_killed_writer_process_is_counted_and_replaced(tmp_path: Path) -> None:
    settings = _settings(tmp_path, trace_sinks=["jsonl"])
    writer = ProcessTraceWriter(settings, sink_names=["jsonl"], flush_interval_s=0.01)
    writer.record(make_trace(answer="before"))
    assert writer.flush(60)
    proc = writer._proc
    assert proc is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    writer.record(make_trace(answer="after"))
    assert writer.flush(60)
    assert writer._proc is not None
    assert writer._proc.pid != proc.pid
    writer.close()
    stats = writer.stats()
    assert stats.written == {"jsonl": 2}
    assert stats.accepted == 2
    assert not stats.dropped
    answers = sorted(t.answer or "" for t in TraceReader(settings.home / "traces").iter_days())
    assert answers == ["after", "before"]


def test_redaction_runs_in_the_writer_process(tmp_path: Path) -> None:
    settings = _settings(tmp_path, trace_sinks=["jsonl"], trace_redact="all")
    writer = ProcessTraceWriter(settings, sink_names=["jsonl"], flush_interval_s=0.01)
    writer.record(make_trace(answer="secret answer"))
    writer.close()
    (t,) = list(TraceReader(settings.home / "traces").iter_days())
    assert t.answer == "[redacted]"
    assert t.inputs == {"who": "[redacted]"}


def test_record_never_raises_and_counts_what_it_could_not_take(tmp_path: Path) -> None:
    writer = ProcessTraceWriter(_settings(tmp_path), sink_names=["jsonl"])
    writer.record("not a trace")  # type: ignore[arg-type]
    writer.close()
    writer.record(make_trace())
    assert writer.stats().dropped == {"error": 1, "closed": 1}


def test_settings_reach_the_writer_process_whole(tmp_path: Path) -> None:
    settings = _settings(tmp_path, openai_api_key=SecretStr("sk-real"), trace_redact="inputs")
    again = Settings.model_validate(settings_payload(settings))
    assert again.openai_api_key is not None
    assert again.openai_api_key.get_secret_value() == "sk-real"
    assert again.home == settings.home
    assert again.trace_redact == "inputs"
    assert again.resolved_database_url == settings.resolved_database_url


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_the_setting_picks_the_writer(tmp_path: Path, mode: str) -> None:
    settings = _settings(tmp_path, trace_writer=mode)
    recorder = build_recorder(settings, lambda: Database(settings.resolved_database_url))
    assert type(recorder).__name__ == ("ProcessTraceWriter" if mode == "process" else "TraceWriter")
    recorder.close()  # type: ignore[union-attr]


@pytest.mark.parametrize("serving", [False, True])
def test_auto_uses_the_process_only_in_a_server(tmp_path: Path, serving: bool) -> None:
    settings = _settings(tmp_path, trace_writer="auto")
    recorder = build_recorder(settings, lambda: Database(settings.resolved_database_url), serving=serving)
    assert type(recorder).__name__ == ("ProcessTraceWriter" if serving else "TraceWriter")
    recorder.close()  # type: ignore[union-attr]


def test_the_http_app_marks_its_runtime_as_serving(tmp_path: Path) -> None:
    from promptyard.runtime import Runtime
    from promptyard.server.app import create_app

    rt = Runtime(_settings(tmp_path))
    assert rt.serving is False
    create_app(rt)
    assert rt.serving is True


def test_metrics_per_trace_equal_metrics_per_batch() -> None:
    from promptyard.tracing.metrics import Metrics

    from .conftest import rag_trace

    traces = [
        make_trace(),
        make_trace(status="error", error_type="provider_unavailable", output_tokens=0, cost_usd=0.0),
        make_trace(answer_cache_hit=True, cost_usd=0.0, cost_saved_usd=0.01),
        make_trace(model="m2", cache_read_tokens=80, cost_saved_usd=0.002, latency={"ttft_ms": 30.0}),
        rag_trace(),
    ]
    batch, one = Metrics(), Metrics()
    batch.observe(traces)
    for t in traces:
        one.observe_one(t)

    def series(m: Metrics) -> list[bytes]:  # without the *_created timestamps
        return [line for line in m.render().splitlines() if b"_created" not in line]

    assert series(one) == series(batch)
