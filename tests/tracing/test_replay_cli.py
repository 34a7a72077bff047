"""Replay through the real gateway, and the ``promptyard traces`` commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptyard.chat import ChatMessage
from promptyard.cli.main import app
from promptyard.errors import InvalidInput
from promptyard.gateway.base import ChatCall, PromptCall
from promptyard.providers.fake import FakeProvider, reply
from promptyard.runtime import Runtime
from promptyard.tracing.files import trace_dir
from promptyard.tracing.reader import TraceReader
from promptyard.tracing.replay import replay
from promptyard.tracing.sinks.jsonl import JsonlSink
from promptyard.tracing.sinks.sql import SqlSink

from .conftest import make_trace
from .gateway_helpers import Prompts, greet_spec, wire

runner = CliRunner()


@pytest.fixture
def rt(make_runtime: Callable[..., Runtime], fake: FakeProvider) -> Runtime:
    runtime = make_runtime()
    wire(runtime, Prompts(greet_spec("1.0.0"), greet_spec("1.1.0", model="m-new")))
    return runtime


async def test_replay_reruns_the_same_version_and_config(rt: Runtime, fake: FakeProvider) -> None:
    result = await rt.gateway.run(PromptCall(name="greet", version="1.0.0", variables={"who": "Ada"}, max_tokens=12))
    assert rt.tracer.flush(10)  # type: ignore[attr-defined]
    original = TraceReader(trace_dir(rt.settings.home)).find(result.trace_id)
    fake.script(reply("Different words this time"))
    again = await replay(original, rt.gateway)
    assert fake.calls == 2  # the answer cache was bypassed
    sent = fake.requests[1]
    assert (sent.model, sent.max_tokens, sent.temperature) == ("m1", 12, 0.0)  # 1.0.0's model, not 1.1.0's
    assert sent.messages[1].content == "Say hello to Ada."
    assert again.new_answer == "Different words this time"
    assert again.original.answer == result.text
    assert not again.same_answer
    assert again.new_trace_id not in (None, result.trace_id)
    assert again.same_chunks is None


async def test_replay_of_a_chat_trace_and_refusals(rt: Runtime, fake: FakeProvider) -> None:
    chat = ChatCall(model="fake/m-chat", messages=[ChatMessage(role="user", content="ping")], temperature=0.3, seed=7)
    result = await rt.gateway.chat(chat)
    assert rt.tracer.flush(10)  # type: ignore[attr-defined]
    original = TraceReader(trace_dir(rt.settings.home)).find(result.trace_id)
    again = await replay(original, rt.gateway)
    assert again.same_answer  # the fake echoes deterministically
    assert (fake.requests[1].seed, fake.requests[1].temperature) == (7, 0.3)
    with pytest.raises(InvalidInput, match="redacted"):
        await replay(original.model_copy(update={"flags": ["redacted"]}), rt.gateway)
    with pytest.raises(InvalidInput, match="RAG is not available"):
        await replay(original.model_copy(update={"kind": "rag"}), rt.gateway, None)


@pytest.fixture
def cli_rt(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setattr("promptyard.cli.traces.runtime", lambda: rt)
    monkeypatch.setenv("COLUMNS", "200")
    return rt


def test_cli_show_grep_list_and_not_found(cli_rt: Runtime) -> None:
    now = datetime.now(UTC)
    traces = [make_trace(timestamp=now - timedelta(hours=h), answer=f"answer number {h}") for h in range(3)]
    sink = JsonlSink(trace_dir(cli_rt.settings.home))
    sink.write(traces)
    sink.close()
    SqlSink(cli_rt.db).write(traces)
    with (trace_dir(cli_rt.settings.home) / f"{now:%Y-%m-%d}.jsonl").open("a") as fh:
        fh.write('{"trace_id": "torn", "answer": "answer number 9\n')  # a crash mid-line
    r = runner.invoke(app, ["traces", "show", traces[1].trace_id])
    assert r.exit_code == 0, r.output
    assert "answer number 1" in r.output
    assert "greet@1.0.0" in r.output
    r = runner.invoke(app, ["traces", "show", traces[0].trace_id, "--json"])
    assert json.loads(r.stdout)["trace_id"] == traces[0].trace_id
    r = runner.invoke(app, ["traces", "grep", "ANSWER NUMBER", "--since", f"{now - timedelta(days=1):%Y-%m-%d}"])
    assert r.exit_code == 0, r.output
    assert "3 trace(s)" in r.output
    assert "skipped corrupt line" in r.output
    r = runner.invoke(app, ["traces", "grep", "x", "--since", "last week"])
    assert r.exit_code == 1
    assert "not a date" in r.output
    r = runner.invoke(app, ["traces", "show", "01a000000000deadbeefdeadbeef"])
    assert r.exit_code == 1
    assert "no trace '01a000000000deadbeefdeadbeef'" in r.output
    assert "searched" in r.output
    r = runner.invoke(app, ["traces", "list", "--limit", "2"])
    assert r.exit_code == 0, r.output
    assert traces[0].trace_id in r.output
    assert traces[2].trace_id not in r.output


def test_cli_replay_side_by_side(cli_rt: Runtime, fake: FakeProvider) -> None:
    import asyncio

    result = asyncio.run(cli_rt.gateway.run(PromptCall(name="greet", version="1.0.0", variables={"who": "Ada"})))
    assert cli_rt.tracer.flush(10)  # type: ignore[attr-defined]
    fake.script(reply("a brand new answer"))
    r = runner.invoke(app, ["traces", "replay", result.trace_id])
    assert r.exit_code == 0, r.output
    assert "original" in r.output
    assert "replay" in r.output
    assert "a brand new answer" in r.output
    assert result.text.split()[0] in r.output
    assert "different" in r.output


def test_cli_purge(cli_rt: Runtime, tmp_path: Path) -> None:
    old = make_trace(timestamp=datetime.now(UTC) - timedelta(days=100))
    new = make_trace(timestamp=datetime.now(UTC))
    SqlSink(cli_rt.db).write([old, new])
    sink = JsonlSink(trace_dir(cli_rt.settings.home))
    sink.write([old, new])
    sink.close()
    r = runner.invoke(app, ["traces", "purge", "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "would delete 1 file(s)" in r.output
    assert "would delete 1 row(s) from traces" in r.output
    r = runner.invoke(app, ["traces", "purge", "--days", "30"])
    assert "deleted 1 file(s)" in r.output
    assert len(list(trace_dir(cli_rt.settings.home).glob("*.jsonl"))) == 1


class StandInRag:
    """Stands in for ``runtime.rag`` until RAG lands: retrieves ``chunks`` and answers ``answer``."""

    def __init__(self, chunks: list[str], answer: str) -> None:
        self.chunks = chunks
        self.answer = answer

    async def replay(self, trace: object) -> object:
        return make_trace(kind="rag", context_chunk_ids=self.chunks, answer=self.answer)


async def test_rag_replay_compares_retrieved_chunk_ids() -> None:
    from .conftest import rag_trace

    original = rag_trace()
    same = await replay(original, None, StandInRag(["c0", "c1"], original.answer or ""))  # type: ignore[arg-type]
    assert same.same_chunks is True
    assert same.same_answer
    moved = await replay(original, None, StandInRag(["c1", "c7"], "other"))  # type: ignore[arg-type]
    assert moved.same_chunks is False
    assert moved.new_chunk_ids == ["c1", "c7"]
    assert moved.original_chunk_ids == ["c0", "c1"]
