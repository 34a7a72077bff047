"""The pipeline end to end with the scripted fake provider: results, traces, errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from promptyard.chat import ChatMessage
from promptyard.errors import BadRequest, PromptNotFound, UnknownModel, VariableValidationError
from promptyard.gateway.base import CallContext, ChatCall, GatewayAPI, PromptCall
from promptyard.gateway.pipeline import Gateway
from promptyard.providers.fake import FakeProvider, bad_request, reply
from promptyard.tracing.model import MemoryRecorder

from .conftest import Prompts, make_spec


def call(who: str = "Ada", **kw: object) -> PromptCall:
    return PromptCall(name="greet", label="production", variables={"who": who}, **kw)  # type: ignore[arg-type]


def test_gateway_implements_the_api(gateway: Gateway) -> None:
    api: GatewayAPI = gateway
    assert api is gateway


async def test_run_renders_the_prompt_and_returns_the_answer(
    gateway: Gateway, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    fake.script(reply("Hello, Ada!"))
    result = await gateway.run(call(context=CallContext(project="p1", end_user="u1", api_key_id="k1")))
    assert result.text == "Hello, Ada!"
    assert (result.provider, result.model, result.prompt) == ("fake", "m1", "greet@1.0.0")
    assert not result.cache_hit
    assert result.retries == 0
    assert result.fallback_used is None
    request = fake.requests[0]
    assert [m.role for m in request.messages] == ["system", "user"]
    assert request.messages[1].content == "Say hello to Ada."
    assert request.model == "m1"
    assert request.timeout_s == 15.0
    # usage comes from the fake's word count; cost from the gateway's cost function
    assert result.usage.output_tokens == 2
    assert result.cost_usd == pytest.approx((result.usage.input_tokens + 2) / 1000)
    [trace] = recorder.traces
    assert trace.trace_id == result.trace_id
    assert (trace.status, trace.kind, trace.project, trace.end_user, trace.api_key_id) == (
        "ok",
        "prompt",
        "p1",
        "u1",
        "k1",
    )
    assert (trace.prompt_name, trace.prompt_version, trace.prompt_label) == ("greet", "1.0.0", "production")
    assert trace.inputs == {"who": "Ada"}
    assert trace.answer == "Hello, Ada!"
    assert trace.cost_usd == result.cost_usd
    assert trace.output_tokens == 2
    assert trace.input_tokens == result.usage.input_tokens
    assert trace.latency.total_ms > 0
    assert trace.latency.generate_ms is not None
    assert trace.config["provider"] == "fake"
    assert trace.config["model"] == "m1"
    assert trace.request_id == "fake-1"


async def test_call_overrides_reach_the_provider(gateway: Gateway, fake: FakeProvider) -> None:
    await gateway.run(call(temperature=0.9, max_tokens=12))
    assert fake.requests[0].temperature == 0.9
    assert fake.requests[0].max_tokens == 12


async def test_chat_sends_messages_to_provider_slash_model(
    gateway: Gateway, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    fake.script(reply("pong"))
    result = await gateway.chat(
        ChatCall(model="fake/m-chat", messages=[ChatMessage(role="user", content="ping")], temperature=0.0)
    )
    assert result.text == "pong"
    assert result.model == "m-chat"
    assert result.prompt is None
    assert fake.requests[0].model == "m-chat"
    [trace] = recorder.traces
    assert trace.kind == "chat"
    assert trace.inputs == {"messages": [{"role": "user", "content": "ping"}]}


async def test_unknown_provider_lists_the_configured_ones(gateway: Gateway, recorder: MemoryRecorder) -> None:
    with pytest.raises(UnknownModel) as err:
        await gateway.chat(ChatCall(model="nope/x", messages=[ChatMessage(role="user", content="hi")]))
    assert "fake" in err.value.available
    assert recorder.traces[0].status == "error"
    assert recorder.traces[0].error_type == "unknown_model"


async def test_model_without_provider_is_refused(gateway: Gateway) -> None:
    with pytest.raises(UnknownModel, match="provider/model"):
        await gateway.chat(ChatCall(model="gpt-4o", messages=[ChatMessage(role="user", content="hi")]))


async def test_unknown_provider_in_a_prompt_fails_before_any_call(
    make_gateway: Callable[..., Gateway], prompts: Prompts, fake: FakeProvider
) -> None:
    from promptyard.prompts.model import ModelConfig

    prompts.add(make_spec("other", model=ModelConfig(provider="missing", model="x")), label="production")
    with pytest.raises(UnknownModel):
        await make_gateway().run(PromptCall(name="other", label="production", variables={"who": "x"}))
    assert fake.calls == 0


async def test_bad_variables_are_refused_and_traced(
    gateway: Gateway, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    with pytest.raises(VariableValidationError):
        await gateway.run(PromptCall(name="greet", label="production", variables={"who": 3, "extra": 1}))
    assert fake.calls == 0
    [trace] = recorder.traces
    assert trace.status == "error"
    assert trace.error_type == "invalid_variables"


async def test_missing_prompt_is_traced(gateway: Gateway, recorder: MemoryRecorder) -> None:
    with pytest.raises(PromptNotFound):
        await gateway.run(PromptCall(name="ghost", version="9.9.9"))
    assert recorder.traces[0].prompt_name == "ghost"
    assert recorder.traces[0].status == "error"


async def test_bad_request_is_neither_retried_nor_cached(
    gateway: Gateway, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    fake.script(bad_request("no such model"))
    with pytest.raises(BadRequest):
        await gateway.run(call())
    assert fake.calls == 1
    result = await gateway.run(call())
    assert not result.cache_hit
    assert fake.calls == 2
    assert [t.status for t in recorder.traces] == ["error", "ok"]


async def test_a_failing_recorder_never_fails_the_call(make_gateway: Callable[..., Gateway]) -> None:
    class Broken:
        def record(self, trace: object) -> None:
            raise RuntimeError("sink down")

    gw = make_gateway(tracer=Broken())
    result = await gw.run(call())
    assert result.text.startswith("echo:")
    assert gw.stats.trace_errors == 1
