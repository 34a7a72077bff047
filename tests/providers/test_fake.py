"""The scripted fake provider: passes the provider contract and fails on demand."""

from __future__ import annotations

import asyncio
import json

import pytest

from promptyard.chat import ChatMessage
from promptyard.errors import BadRequest, ProviderTimeout, ProviderUnavailable, RateLimited
from promptyard.providers.base import CompletionRequest, Provider
from promptyard.testing import (
    FakeProvider,
    bad_request,
    hang,
    json_reply,
    malformed_json,
    overloaded,
    rate_limited,
    reply,
    slow_stream,
    stream_error,
    timeout,
    unavailable,
)
from promptyard.testing.provider_contract import ProviderContract, Scenario


class TestFakeContract(ProviderContract):
    @pytest.fixture
    def provider(self) -> FakeProvider:
        return FakeProvider()

    @pytest.fixture
    def model(self) -> str:
        return "fake-model"

    async def test_json_schema_output_parses(self, provider: Provider, model: str) -> None:
        assert isinstance(provider, FakeProvider)
        provider.script(json_reply({"city": "Paris", "sentiment": "positive"}))
        await super().test_json_schema_output_parses(provider, model)

    def arrange(self, provider: Provider, scenario: Scenario, model: str) -> CompletionRequest | None:
        assert isinstance(provider, FakeProvider)
        steps = {
            "rate_limited": rate_limited(retry_after=self.retry_after),
            "unavailable": overloaded(),
            "bad_request": bad_request("max_tokens too large"),
            "stream_error": stream_error(after=2),
        }
        provider.script(steps[scenario])
        return self.request(model)


def request(text: str = "hello there", model: str = "m") -> CompletionRequest:
    return CompletionRequest(model=model, messages=[ChatMessage(role="user", content=text)])


async def test_echo_by_default_counts_calls_and_records_requests() -> None:
    fake = FakeProvider()
    first = await fake.complete(request("one two three"))
    second = await fake.complete(request("four"))
    assert (first.text, second.text) == ("echo: one two three", "echo: four")
    assert fake.calls == 2
    assert [r.messages[-1].content for r in fake.requests] == ["one two three", "four"]
    assert first.usage.input_tokens == 3
    assert first.usage.output_tokens == 4


async def test_script_runs_in_order_then_falls_back_to_default() -> None:
    fake = FakeProvider(rate_limited(retry_after=3), unavailable(503), timeout(), reply("finally"))
    with pytest.raises(RateLimited) as limited:
        await fake.complete(request())
    assert limited.value.retry_after == 3
    with pytest.raises(ProviderUnavailable) as down:
        await fake.complete(request())
    assert down.value.status == 503
    with pytest.raises(ProviderTimeout):
        await fake.complete(request())
    assert (await fake.complete(request())).text == "finally"
    assert (await fake.complete(request("x"))).text == "echo: x"
    assert fake.calls == 5


async def test_model_scripts_win_over_the_shared_one() -> None:
    fake = FakeProvider()
    fake.script(unavailable(529), model="primary")
    fake.script(reply("shared"))
    with pytest.raises(ProviderUnavailable):
        await fake.complete(request(model="primary"))
    assert (await fake.complete(request(model="backup"))).text == "shared"
    assert (await fake.complete(request(model="primary"))).text == "echo: hello there"
    assert fake.calls_by_model == {"primary": 2, "backup": 1}


async def test_hang_waits_until_cancelled_and_counts_it() -> None:
    fake = FakeProvider(hang())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(fake.complete(request()), 0.05)
    assert fake.cancelled == 1


async def test_hang_in_a_stream_is_cancelled_once() -> None:
    fake = FakeProvider(hang())

    async def consume() -> None:
        async for _ in fake.stream(request()):
            pass

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(consume(), 0.05)
    assert fake.cancelled == 1


async def test_malformed_json_is_returned_as_is() -> None:
    fake = FakeProvider(malformed_json())
    text = (await fake.complete(request())).text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


async def test_slow_stream_sends_n_chunks() -> None:
    fake = FakeProvider(slow_stream("abcdefghij", chunks=5, chunk_delay_s=0.001))
    events = [e async for e in fake.stream(request())]
    assert [e.delta for e in events[:-1]] == ["ab", "cd", "ef", "gh", "ij"]
    assert events[-1].finish_reason == "stop"
    assert events[-1].usage is not None


async def test_stream_error_after_n_chunks() -> None:
    fake = FakeProvider(stream_error(after=1, error_type="rate_limit_error"))
    seen: list[str] = []

    async def consume() -> None:
        async for event in fake.stream(request()):
            seen.append(event.delta)

    with pytest.raises(RateLimited):
        await consume()
    assert seen == ["partial "]


async def test_gate_holds_the_answer_until_set() -> None:
    gate = asyncio.Event()
    fake = FakeProvider(reply("held", gate=gate))
    task = asyncio.create_task(fake.complete(request()))
    await asyncio.sleep(0)
    assert not task.done()
    gate.set()
    assert (await task).text == "held"


async def test_bad_request_is_not_retryable() -> None:
    with pytest.raises(BadRequest) as info:
        await FakeProvider(bad_request()).complete(request())
    assert not info.value.retryable
