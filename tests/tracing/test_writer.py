"""The background writer: batching, never blocking, never silent about losses."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from promptyard.tracing.model import Trace
from promptyard.tracing.reader import TraceReader
from promptyard.tracing.sinks.jsonl import JsonlSink
from promptyard.tracing.writer import TraceWriter

from .conftest import make_trace


class ListSink:
    name = "list"

    def __init__(self) -> None:
        self.batches: list[list[Trace]] = []
        self.closed = False

    def write(self, traces: Sequence[Trace]) -> None:
        self.batches.append(list(traces))

    def close(self) -> None:
        self.closed = True

    @property
    def ids(self) -> list[str]:
        return [t.trace_id for b in self.batches for t in b]


class GatedSink(ListSink):
    """Blocks in write() until released: simulates a slow database."""

    name = "gated"

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def write(self, traces: Sequence[Trace]) -> None:
        self.entered.set()
        assert self.release.wait(10)
        super().write(traces)


class FlakySink(ListSink):
    name = "flaky"

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.attempts = 0

    def write(self, traces: Sequence[Trace]) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise OSError("disk on fire")
        super().write(traces)


def test_every_recorded_trace_reaches_every_sink_in_order() -> None:
    a, b = ListSink(), ListSink()
    b.name = "other"
    writer = TraceWriter([a, b], batch_size=64, flush_interval_s=0.01)
    sent = [make_trace() for _ in range(500)]
    for t in sent:
        writer.record(t)
    assert writer.flush(10)
    assert a.ids == [t.trace_id for t in sent] == b.ids
    assert max(len(batch) for batch in a.batches) <= 64
    stats = writer.stats()
    assert stats.accepted == stats.processed == 500
    assert stats.written == {"list": 500, "other": 500}
    assert stats.dropped == {}
    writer.close()
    assert a.closed
    assert b.closed


def test_record_never_blocks_and_counts_overflow_as_dropped(caplog: pytest.LogCaptureFixture) -> None:
    sink = GatedSink()
    writer = TraceWriter([sink], queue_size=10, batch_size=1, flush_interval_s=0.01)
    writer.record(make_trace())
    assert sink.entered.wait(5)  # the writer thread is stuck in the sink
    caplog.set_level(logging.WARNING, "promptyard.tracing")
    start = time.perf_counter()
    for _ in range(50):
        writer.record(make_trace())
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5  # no waiting on the stuck sink
    stats = writer.stats()
    assert stats.dropped == {"queue_full": 40}
    assert stats.queue_depth == 10
    assert writer.dropped_total == 40
    assert "traces dropped" in caplog.text  # never silent
    sink.release.set()
    writer.close()
    assert len(sink.ids) == 11  # the one in flight plus the ten queued


def test_close_flushes_everything_queued() -> None:
    sink = ListSink()
    writer = TraceWriter([sink], batch_size=1000, flush_interval_s=60)  # would wait a minute on its own
    for _ in range(123):
        writer.record(make_trace())
    writer.close()
    assert len(sink.ids) == 123
    assert sink.closed
    writer.record(make_trace())
    assert writer.stats().dropped == {"closed": 1}


def test_failing_sink_is_retried_then_counted_without_hurting_the_others(caplog: pytest.LogCaptureFixture) -> None:
    good, flaky, broken = ListSink(), FlakySink(failures=1), FlakySink(failures=99)
    broken.name = "broken"
    writer = TraceWriter([good, flaky, broken], batch_size=10, flush_interval_s=0.01, retry_base_s=0.001)
    for _ in range(10):
        writer.record(make_trace())
    assert writer.flush(10)
    stats = writer.stats()
    assert len(good.ids) == 10
    assert len(flaky.ids) == 10
    assert broken.ids == []
    assert stats.written == {"list": 10, "flaky": 10, "broken": 0}
    assert stats.sink_errors == {"list": 0, "flaky": 1, "broken": 3}
    assert stats.dropped == {"sink:broken": 10}
    assert "disk on fire" in caplog.text
    writer.close()


def test_record_never_raises_and_counts_what_it_could_not_take() -> None:
    sink = ListSink()
    writer = TraceWriter([sink])
    writer.record(None)  # type: ignore[arg-type]  # garbage in: counted, not raised
    writer.record(make_trace())
    writer.close()
    assert writer.stats().dropped == {"error": 1}
    assert len(sink.ids) == 1


def test_redaction_happens_before_any_sink(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path)
    writer = TraceWriter([sink], redact_mode="all")
    writer.record(make_trace(query="my secret question", inputs={"who": "Ada Lovelace"}, answer="secret answer"))
    writer.close()
    raw = next(tmp_path.glob("*.jsonl")).read_text()
    assert "Ada Lovelace" not in raw
    assert "secret" not in raw
    [t] = list(TraceReader(tmp_path).iter_days())
    assert t.inputs == {"who": "[redacted]"}
    assert t.answer == "[redacted]"
    assert "redacted" in t.flags
    assert t.input_tokens == 100
    assert t.cost_usd == 0.01


def test_a_forked_child_writes_with_its_own_thread(tmp_path: Path) -> None:
    import multiprocessing

    writer = TraceWriter([JsonlSink(tmp_path)], flush_interval_s=0.01)
    writer.record(make_trace(answer="parent"))
    assert writer.flush(10)  # the parent's writer thread is running

    def child() -> None:
        writer.record(make_trace(answer="child"))
        if not writer.flush(5):  # needs a live writer thread in the child
            raise SystemExit(3)
        writer.close()

    proc = multiprocessing.get_context("fork").Process(target=child)
    proc.start()
    proc.join(30)
    assert proc.exitcode == 0
    writer.close()
    assert sorted(t.answer or "" for t in TraceReader(tmp_path).iter_days()) == ["child", "parent"]
