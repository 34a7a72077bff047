"""The anthropic adapter against recorded Messages API traffic, served by a real loopback server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from promptyard.chat import CacheMark, ChatMessage
from promptyard.errors import BadRequest, ProviderUnavailable, RateLimited
from promptyard.providers import anthropic
from promptyard.providers.base import CompletionRequest, Provider, ResponseFormat
from promptyard.settings import load_settings
from promptyard.testing.provider_contract import ProviderContract, Scenario
from tests.providers.replay_server import ReplayServer

SCENARIO_MODELS: dict[Scenario, str] = {
    "rate_limited": "claude-sonnet-4-5",
    "unavailable": "claude-opus-4-1",
    "bad_request": "claude-3-5-haiku-20241022",
    "stream_error": "claude-opus-4-5",
}


@pytest.fixture(params=["fast", "httpx"])
async def adapter(replay: ReplayServer, request: pytest.FixtureRequest) -> AsyncIterator[anthropic.AnthropicProvider]:
    settings = load_settings(
        anthropic_base_url=f"{replay.url}/anthropic", anthropic_api_key="sk-ant-test", http_client=request.param
    )
    adapter = anthropic.create(settings)
    yield adapter
    await adapter.aclose()


class TestAnthropicReplayContract(ProviderContract):
    supports_json_schema = False

    @pytest.fixture
    def provider(self, adapter: Provider) -> Provider:
        return adapter

    @pytest.fixture
    def model(self) -> str:
        return "claude-haiku-4-5"

    def arrange(self, provider: Provider, scenario: Scenario, model: str) -> CompletionRequest | None:
        return self.request(SCENARIO_MODELS[scenario])


def ask(model: str, **kwargs: object) -> CompletionRequest:
    messages = [
        ChatMessage(role="system", content="You are a concise assistant for the Acme support desk."),
        ChatMessage(role="user", content="Say hello in one short sentence."),
    ]
    return CompletionRequest(model=model, messages=messages, cache_marks=[CacheMark(index=1, ttl="1h")], **kwargs)  # type: ignore[arg-type]


async def test_complete_sends_headers_system_blocks_and_cache_control(
    adapter: anthropic.AnthropicProvider, replay: ReplayServer
) -> None:
    response = await adapter.complete(ask("claude-haiku-4-5", max_tokens=24, temperature=0.0))
    assert response.text == "Hello! How can I help you today?"
    assert response.finish_reason == "stop"
    assert response.request_id == "req_011CVfK3n8Tq5Wz2Xb7Yc9Dm"
    sent = replay.received[0]
    assert sent.headers["x-api-key"] == "sk-ant-test"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.body["system"] == [
        {
            "type": "text",
            "text": "You are a concise assistant for the Acme support desk.",
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        }
    ]
    assert sent.body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Say hello in one short sentence."}]}
    ]
    assert sent.body["max_tokens"] == 24


async def test_usage_counts_all_input_and_splits_cache_writes(adapter: anthropic.AnthropicProvider) -> None:
    usage = (await adapter.complete(ask("claude-haiku-4-5"))).usage
    # recorded: input_tokens 12 (after the breakpoint) + 1536 written to the 1h cache
    assert usage.input_tokens == 12 + 1536
    assert usage.cache_write_1h_tokens == 1536
    assert usage.cache_write_tokens == 0
    assert usage.cache_read_tokens == 0
    assert usage.output_tokens == 12


async def test_stream_maps_events_and_cache_read(adapter: anthropic.AnthropicProvider, replay: ReplayServer) -> None:
    events = [e async for e in adapter.stream(ask("claude-haiku-4-5"))]
    assert "".join(e.delta for e in events) == "Hello! How can I help you today?"
    final = events[-1]
    assert final.finish_reason == "stop"
    assert final.request_id == "req_011CVfK4p9Ur6Xa3Yc8Zd0En"
    assert final.usage is not None
    assert final.usage.input_tokens == 12 + 1536
    assert final.usage.cache_read_tokens == 1536
    assert final.usage.output_tokens == 12  # message_delta's cumulative count wins over message_start's 1
    assert replay.received[0].body["stream"] is True
    assert replay.received[0].headers["accept"] == "text/event-stream"


async def test_429_keeps_retry_after_then_the_retry_succeeds(adapter: anthropic.AnthropicProvider) -> None:
    with pytest.raises(RateLimited) as info:
        await adapter.complete(ask("claude-sonnet-4-5"))
    assert info.value.retry_after == 2.0
    assert "rate limit" in info.value.message
    response = await adapter.complete(ask("claude-sonnet-4-5"))
    assert response.text == "Hello! What can I do for you?"
    assert response.usage.cache_read_tokens == 1536


async def test_529_overloaded_is_unavailable(adapter: anthropic.AnthropicProvider) -> None:
    with pytest.raises(ProviderUnavailable) as info:
        await adapter.complete(ask("claude-opus-4-1"))
    assert info.value.status == 529
    assert "Overloaded" in info.value.message
    assert info.value.retryable


async def test_400_is_bad_request(adapter: anthropic.AnthropicProvider) -> None:
    with pytest.raises(BadRequest, match="max_tokens"):
        await adapter.complete(ask("claude-3-5-haiku-20241022"))


async def test_in_stream_error_event(adapter: anthropic.AnthropicProvider) -> None:
    seen: list[str] = []

    async def consume() -> None:
        async for event in adapter.stream(ask("claude-opus-4-5")):
            seen.append(event.delta)

    with pytest.raises(ProviderUnavailable, match="overloaded_error"):
        await consume()
    assert seen == ["Hello", "! How"]


async def test_json_schema_goes_out_as_output_config(
    adapter: anthropic.AnthropicProvider, replay: ReplayServer
) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    fmt = ResponseFormat(type="json_schema", json_schema=schema)
    response = await adapter.complete(ask("claude-sonnet-4-5-20250929", response_format=fmt))
    assert json.loads(response.text) == {"city": "Paris", "sentiment": "positive"}
    assert replay.received[0].body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
