"""runtime.gateway wires the real registry, provider registry, price table, tracer and spend store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from promptyard.chat import ChatMessage
from promptyard.gateway.base import ChatCall, PromptCall
from promptyard.gateway.pipeline import Gateway
from promptyard.gateway.spend_store import SpendStore
from promptyard.providers.fake import FakeProvider, reply
from promptyard.runtime import Runtime
from promptyard.settings import Settings
from promptyard.store.db import Database

PROMPT = """---
name: hello
version: 1.0.0
model:
  provider: fake
  model: m1
variables:
  who: {type: string}
---
[system]
You are friendly.

[user]
Say hello to {{ who }}.
"""


async def test_runtime_gateway_runs_a_synced_prompt_end_to_end(tmp_path: Path, fake: FakeProvider) -> None:
    prompts_dir = tmp_path / "prompts"
    (prompts_dir / "hello").mkdir(parents=True)
    (prompts_dir / "hello" / "1.0.0.prompt").write_text(PROMPT)
    settings = Settings(home=tmp_path / "home", prompts_dir=prompts_dir, daily_budget_usd=100.0, trace_sinks=["jsonl"])
    rt = Runtime(settings)
    try:
        gw = rt.gateway
        assert isinstance(gw, Gateway)
        assert gw.prompts is rt.registry
        assert gw.providers is rt.providers
        assert gw.tracer is rt.tracer
        rt.registry.sync(prompts_dir, actor="tester")
        rt.registry.set_label("hello", "production", "1.0.0", actor="tester")
        fake.script(reply("Hello, Ada!"))
        result = await gw.run(PromptCall(name="hello", label="production", variables={"who": "Ada"}))
        assert result.text == "Hello, Ada!"
        assert result.prompt == "hello@1.0.0"
        assert fake.requests[0].messages[-1].content == "Say hello to Ada."
        again = await gw.run(PromptCall(name="hello", version="1.0.0", variables={"who": "ada"}))
        assert again.cache_hit
        chat = await gw.chat(ChatCall(model="fake/m2", messages=[ChatMessage(role="user", content="hi")]))
        assert chat.text == "echo: hi"
    finally:
        await rt.aclose()  # flushes buffered spend
    db = Database(settings.resolved_database_url)
    try:
        from sqlalchemy import select

        from promptyard.store.tables.gateway import DailySpendRow

        with db.session() as s:
            row = s.scalars(select(DailySpendRow)).one()
        assert (row.project, row.calls) == ("default", 2)  # two provider calls; the cache hit cost nothing
        assert SpendStore(db).load("default", datetime.now(UTC).date()) == row.cost_usd
    finally:
        db.dispose()
