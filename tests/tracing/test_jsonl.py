"""JSONL files: one per UTC day, whole lines only, corrupt lines skipped by every reader."""

from __future__ import annotations

import json
import logging
import multiprocessing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from promptyard.errors import NotFound
from promptyard.tracing.files import day_of_trace_id
from promptyard.tracing.model import new_trace_id
from promptyard.tracing.reader import TraceReader
from promptyard.tracing.sinks.jsonl import JsonlSink
from promptyard.tracing.writer import TraceWriter

from .conftest import make_trace


class StepClock:
    """An injected clock: each call returns the next instant, 1 s apart."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def test_files_roll_over_at_utc_midnight(traces_dir: Path) -> None:
    clock = StepClock(datetime(2026, 3, 14, 23, 59, 55, tzinfo=UTC))
    writer = TraceWriter([JsonlSink(traces_dir)], batch_size=3, flush_interval_s=0.01)
    sent = [make_trace(timestamp=clock()) for _ in range(10)]  # 23:59:56 .. 00:00:05
    for t in sent:
        writer.record(t)
    writer.close()
    names = sorted(p.name for p in traces_dir.iterdir())
    assert names == ["2026-03-14.jsonl", "2026-03-15.jsonl"]
    before = (traces_dir / "2026-03-14.jsonl").read_text().splitlines()
    after = (traces_dir / "2026-03-15.jsonl").read_text().splitlines()
    assert len(before) == 4
    assert len(after) == 6
    assert [json.loads(x)["trace_id"] for x in before + after] == [t.trace_id for t in sent]


def test_a_non_utc_timestamp_goes_to_its_utc_day(traces_dir: Path) -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 3, 15, 1, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # 00:30 UTC
    sink = JsonlSink(traces_dir)
    sink.write([make_trace(timestamp=local)])
    sink.close()
    assert [p.name for p in traces_dir.iterdir()] == ["2026-03-15.jsonl"]


def _hammer(directory: str, worker: int, count: int) -> None:
    writer = TraceWriter([JsonlSink(Path(directory))], batch_size=7, flush_interval_s=0.001)
    for i in range(count):
        writer.record(make_trace(answer=f"w{worker}-{i} " + "x" * (i % 50) * 40, end_user=f"w{worker}"))
    writer.close()


def test_several_processes_never_interleave_or_tear_lines(traces_dir: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_hammer, args=(str(traces_dir), w, 400)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = (traces_dir / "2026-03-14.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""
    parsed = [json.loads(line) for line in lines[:-1]]  # every line is one whole JSON object
    assert len(parsed) == 1600
    for w in range(4):
        mine = [p["answer"].split(" ")[0] for p in parsed if p["end_user"] == f"w{w}"]
        assert mine == [f"w{w}-{i}" for i in range(400)]  # each process's lines in its order


def test_a_torn_last_line_is_isolated_and_skipped_with_a_warning(
    traces_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = make_trace()
    sink = JsonlSink(traces_dir)
    sink.write([first])
    sink.close()
    path = traces_dir / "2026-03-14.jsonl"
    with path.open("ab") as fh:  # a crash in the middle of a line
        fh.write(b'{"trace_id":"0123","timestamp":"2026-03-14T12:0')
    second = make_trace()
    sink = JsonlSink(traces_dir)
    sink.write([second])  # starts on a fresh line
    sink.close()
    with path.open("ab") as fh:
        fh.write(b"not json at all\n\n")
    caplog.set_level(logging.WARNING, "promptyard.tracing")
    reader = TraceReader(traces_dir)
    assert [t.trace_id for t in reader.iter_days()] == [first.trace_id, second.trace_id]
    assert [c.line for c in reader.skipped] == [2, 4]
    assert "skipped corrupt trace line" in caplog.text
    assert "2026-03-14.jsonl:2" in caplog.text
    assert reader.find(second.trace_id).trace_id == second.trace_id
    assert [t.trace_id for t in reader.grep("hello")] == [second.trace_id, first.trace_id]


def test_find_looks_everywhere_and_names_the_range_searched(traces_dir: Path) -> None:
    trace = make_trace(timestamp=datetime.now(UTC))
    sink = JsonlSink(traces_dir)
    sink.write([trace])
    sink.close()
    reader = TraceReader(traces_dir)
    assert reader.find(trace.trace_id) == trace
    old = make_trace()  # id made now, timestamp (and file) in March: found by the full scan
    sink = JsonlSink(traces_dir)
    sink.write([old])
    sink.close()
    assert reader.find(old.trace_id) == old
    missing = new_trace_id()
    day = day_of_trace_id(missing)
    assert day is not None
    with pytest.raises(NotFound) as err:
        reader.find(missing)
    assert f"searched 2026-03-14 to {day + timedelta(days=1)}" in str(err.value)
    with pytest.raises(NotFound, match=r"searched 2026-03-14 to \d{4}-\d\d-\d\d"):
        reader.find("not-a-promptyard-id")


def test_grep_filters_by_day_range_newest_first(traces_dir: Path) -> None:
    sink = JsonlSink(traces_dir)
    days = [datetime(2026, 3, d, 9, tzinfo=UTC) for d in (10, 11, 12)]
    sent = [make_trace(timestamp=ts, answer=f"needle on {ts:%d}") for ts in days]
    sink.write(sent)
    sink.close()
    reader = TraceReader(traces_dir)
    assert [t.answer for t in reader.grep("NEEDLE")] == ["needle on 12", "needle on 11", "needle on 10"]
    assert [t.answer for t in reader.grep("needle", since=date(2026, 3, 11), until=date(2026, 3, 11))] == [
        "needle on 11"
    ]
    assert reader.grep("needle", limit=1)[0].answer == "needle on 12"
    assert reader.grep("absent") == []
