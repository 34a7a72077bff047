"""Acceptance: every request through the real gateway leaves exactly one JSONL line and one SQL row."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from promptyard.chat import ChatMessage
from promptyard.errors import BadRequest
from promptyard.gateway.base import ChatCall, PromptCall
from promptyard.providers.fake import FakeProvider, bad_request, reply, slow_stream
from promptyard.runtime import Runtime
from promptyard.store.tables.tracing import TraceRow
from promptyard.tracing.alerts import BudgetAlerter

from .gateway_helpers import Prompts, greet_spec, wire


def call(who: str) -> PromptCall:
    return PromptCall(name="greet", version="1.0.0", variables={"who": who})


def jsonl_lines(home: Path) -> list[dict[str, object]]:
    lines: list[dict[str, object]] = []
    for path in sorted((home / "traces").glob("*.jsonl")):
        lines += [json.loads(x) for x in path.read_text().splitlines()]
    return lines


async def test_one_line_and_one_row_per_request_whatever_happened(
    make_runtime: Callable[..., Runtime], fake: FakeProvider, tmp_path: Path
) -> None:
    rt = make_runtime(daily_budget_usd=0.02)
    wire(rt, Prompts(greet_spec()))
    gw = rt.gateway
    expected: dict[str, str] = {}

    fake.script(reply("Hello, Ada!"))
    ok = await gw.run(call("Ada"))
    expected[ok.trace_id] = "ok"

    fake.script(bad_request("no such thing"))
    with pytest.raises(BadRequest):
        await gw.run(call("Bob"))

    hit = await gw.run(call("Ada"))  # same call: answered by the answer cache
    assert hit.cache_hit
    expected[hit.trace_id] = "ok"

    fake.script(reply("streamed hello to you"))
    stream = gw.run_stream(call("Cy"))
    text = "".join([ev.delta async for ev in stream])
    assert text == "streamed hello to you"
    assert stream.result is not None
    expected[stream.result.trace_id] = "ok"

    fake.script(slow_stream("one two three four five six", chunks=6, chunk_delay_s=0.2))
    cancelled = gw.run_stream(call("Dee"))
    async for _ev in cancelled:
        break  # the client goes away after the first chunk
    await cancelled.aclose()

    fake.script(reply("pong"))
    chat = await gw.chat(ChatCall(model="fake/m-chat", messages=[ChatMessage(role="user", content="ping")]))
    expected[chat.trace_id] = "ok"

    await rt.aclose()  # flushes the trace queue

    lines = jsonl_lines(tmp_path)
    with rt.db.session() as s:
        rows = {r.trace_id: r for r in s.scalars(select(TraceRow))}
    assert len(lines) == 6
    assert len(rows) == 6
    assert {x["trace_id"] for x in lines} == set(rows)
    by_status = sorted(str(x["status"]) for x in lines)
    assert by_status == ["cancelled", "error", "ok", "ok", "ok", "ok"]
    for trace_id, status in expected.items():
        assert rows[trace_id].status == status
    [err] = [x for x in lines if x["status"] == "error"]
    assert err["error_type"] == "provider_bad_request"
    assert [x["answer_cache_hit"] for x in lines].count(True) == 1
    assert rows[hit.trace_id].answer_cache_hit
    streams = {x["status"] for x in lines if x["stream"]}
    assert streams == {"ok", "cancelled"}
    assert {x["kind"] for x in lines} == {"prompt", "chat"}
    # the answer of the first call crossed 80% and 100% of the 0.02 USD budget: alerts fired once each
    fired = BudgetAlerter(log_path=tmp_path / "x.log", db=rt.db).fired()
    assert sorted(a.threshold for a in fired) == [0.8, 1.0]
    assert len((tmp_path / "traces" / "alerts.log").read_text().splitlines()) == 2


async def test_tracing_off_writes_nothing(
    make_runtime: Callable[..., Runtime], fake: FakeProvider, tmp_path: Path
) -> None:
    rt = make_runtime(tracing=False)
    wire(rt, Prompts(greet_spec()))
    await rt.gateway.run(call("Ada"))
    await rt.aclose()
    assert not (tmp_path / "traces").exists()
