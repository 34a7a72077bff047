"""Datasets built from production traces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from promptyard.cli.main import app
from promptyard.evals.from_traces import items_from_traces
from promptyard.runtime import Runtime
from promptyard.tracing.files import day_file, trace_dir, utc_day
from promptyard.tracing.model import Candidate, Trace
from promptyard.tracing.redact import redact

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def trace(n: int, **overrides: object) -> Trace:
    fields: dict[str, object] = {
        "trace_id": f"t{n:03d}",
        "timestamp": NOW + timedelta(minutes=n),
        "kind": "rag",
        "prompt_name": "rag_answer",
        "prompt_version": "1.0.0",
        "prompt_label": "production",
        "inputs": {"question": f"question {n}?"},
        "answer": f"answer {n} [doc-{n}]",
        "fused": [
            Candidate(chunk_id=f"c{n}", doc_id=f"doc-{n}", score=1.0),
            Candidate(chunk_id="x", doc_id="x", score=0.5),
        ],
        "context_chunk_ids": [f"c{n}"],
    }
    fields.update(overrides)
    return Trace.model_validate(fields)


def test_traces_become_items_with_reasons_for_the_rest() -> None:
    traces = [
        trace(1),
        trace(2),
        trace(3, status="error", answer=None),
        trace(4, prompt_name="other"),
        trace(5, timestamp=NOW - timedelta(days=3)),
        redact(trace(6), "inputs"),
        trace(7, inputs={"question": "question 1?"}, answer="newer answer"),  # same inputs as t001, later
        trace(8, prompt_version="2.0.0"),
    ]
    selection = items_from_traces(traces, prompt="rag_answer", since=NOW, version="1.0.0")
    assert [i.item_id for i in selection.items] == ["t002", "t007"]
    first = selection.items[0]
    assert first.inputs == {"question": "question 2?"}
    assert first.expected == ["answer 2 [doc-2]"]
    assert first.expected_doc_ids == ["doc-2"]
    assert first.tags == ["from-traces", "version:1.0.0", "label:production"]
    assert selection.items[1].expected == ["newer answer"]
    assert selection.considered == 5
    assert selection.skipped == {
        "status error": 1,
        "inputs missing or redacted": 1,
        "duplicate inputs": 1,
    }


def test_from_traces_command_reads_the_trace_files(eval_home: Path) -> None:
    rt = Runtime()
    folder = trace_dir(rt.settings.home)
    folder.mkdir(parents=True, exist_ok=True)
    lines = [trace(n) for n in range(1, 4)]
    path = day_file(folder, utc_day(NOW))
    path.write_text("".join(t.model_dump_json() + "\n" for t in lines) + '{"torn line\n')
    rt.db.dispose()
    result = CliRunner().invoke(app, ["datasets", "from-traces", "--prompt", "rag_answer", "--since", "2026-03-10"])
    assert result.exit_code == 0, result.output
    assert "rag-answer-traces@1: 3 rows from 3 traces" in result.stdout
    assert "corrupt" in result.stderr
    rt = Runtime()
    _, items = rt.evals.datasets.items("rag-answer-traces")
    assert [i.inputs for i in items] == [{"question": f"question {n}?"} for n in range(1, 4)]
    rt.db.dispose()
    empty = CliRunner().invoke(app, ["datasets", "from-traces", "--prompt", "nope", "--since", "2026-03-10"])
    assert empty.exit_code == 1
    assert "no usable traces" in empty.stderr
    bad = CliRunner().invoke(app, ["datasets", "from-traces", "--prompt", "x", "--since", "March"])
    assert bad.exit_code == 1
    assert "YYYY-MM-DD" in bad.stderr
