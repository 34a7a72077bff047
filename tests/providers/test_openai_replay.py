"""The openai adapter against recorded OpenAI wire traffic, served by a real loopback server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from promptyard.chat import ChatMessage
from promptyard.errors import BadRequest, ProviderUnavailable, RateLimited
from promptyard.providers import openai
from promptyard.providers.base import CompletionRequest, Provider, ResponseFormat
from promptyard.settings import load_settings
from promptyard.testing.provider_contract import ProviderContract, Scenario
from tests.providers.replay_server import ReplayServer

SCENARIO_MODELS: dict[Scenario, tuple[str, bool]] = {
    "rate_limited": ("gpt-4.1", False),
    "unavailable": ("gpt-4.1-nano", False),
    "bad_request": ("gpt-4o", False),
    "stream_error": ("gpt-4o", True),
}


@pytest.fixture(params=["fast", "httpx"])
async def adapter(replay: ReplayServer, request: pytest.FixtureRequest) -> AsyncIterator[openai.OpenAIProvider]:
    settings = load_settings(
        openai_base_url=f"{replay.url}/openai/v1", openai_api_key="sk-test-123", http_client=request.param
    )
    adapter = openai.create(settings)
    yield adapter
    await adapter.aclose()


class TestOpenAIReplayContract(ProviderContract):
    supports_json_schema = False  # covered below with its own recorded exchange

    @pytest.fixture
    def provider(self, adapter: Provider) -> Provider:
        return adapter

    @pytest.fixture
    def model(self) -> str:
        return "gpt-4o-mini"

    def arrange(self, provider: Provider, scenario: Scenario, model: str) -> CompletionRequest | None:
        return self.request(SCENARIO_MODELS[scenario][0])


def ask(model: str, **kwargs: object) -> CompletionRequest:
    messages = [ChatMessage(role="user", content="Say hello in one short sentence.")]
    return CompletionRequest(model=model, messages=messages, **kwargs)  # type: ignore[arg-type]


async def test_complete_maps_usage_cache_and_request_id(adapter: openai.OpenAIProvider, replay: ReplayServer) -> None:
    response = await adapter.complete(ask("gpt-4o-mini", max_tokens=24, temperature=0.0))
    assert response.text == "Hello there, how can I help you today?"
    assert response.usage.input_tokens == 1342
    assert response.usage.cache_read_tokens == 1280
    assert response.usage.output_tokens == 11
    assert response.request_id == "req_5f0c2a9e81d34b7aa1c6e07d2b9f4c13"
    assert response.model == "gpt-4o-mini-2024-07-18"
    sent = replay.received[0]
    assert sent.headers["authorization"] == "Bearer sk-test-123"
    assert sent.headers["content-type"] == "application/json"
    assert sent.body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Say hello in one short sentence."}],
        "temperature": 0.0,
        "max_tokens": 24,
    }


async def test_stream_asks_for_usage_and_returns_the_final_usage_chunk(
    adapter: openai.OpenAIProvider, replay: ReplayServer
) -> None:
    events = [e async for e in adapter.stream(ask("gpt-4o-mini", max_tokens=24))]
    assert "".join(e.delta for e in events) == "Hello there, how can I help?"
    final = events[-1]
    assert final.finish_reason == "stop"
    assert final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.cache_read_tokens) == (1342, 9, 1280)
    assert final.request_id == "req_9a1e77c3b0f24d5e8c6b2f4a1d3e5c70"
    assert replay.received[0].body["stream_options"] == {"include_usage": True}
    assert adapter.missing_usage == 0


async def test_reasoning_tokens_and_max_completion_tokens(adapter: openai.OpenAIProvider, replay: ReplayServer) -> None:
    response = await adapter.complete(ask("o4-mini", max_tokens=512))
    assert response.usage.reasoning_tokens == 192
    assert response.usage.output_tokens == 204
    assert replay.received[0].body["max_completion_tokens"] == 512
    assert "max_tokens" not in replay.received[0].body


async def test_json_schema_response_format(adapter: openai.OpenAIProvider, replay: ReplayServer) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    fmt = ResponseFormat(type="json_schema", json_schema=schema, name="review")
    response = await adapter.complete(ask("gpt-4o-2024-08-06", response_format=fmt))
    assert json.loads(response.text) == {"city": "Paris", "sentiment": "positive"}
    sent = replay.received[0].body["response_format"]
    assert sent == {"type": "json_schema", "json_schema": {"name": "review", "schema": schema}}


async def test_429_keeps_retry_after_then_the_retry_succeeds(adapter: openai.OpenAIProvider) -> None:
    with pytest.raises(RateLimited) as info:
        await adapter.complete(ask("gpt-4.1"))
    assert info.value.retry_after == 2.0
    assert info.value.status == 429
    assert "Rate limit reached" in info.value.message
    response = await adapter.complete(ask("gpt-4.1"))
    assert response.text == "Hello! How can I help you today?"


async def test_retry_after_ms_wins_over_retry_after(adapter: openai.OpenAIProvider) -> None:
    with pytest.raises(RateLimited) as info:
        await adapter.complete(ask("gpt-4.1-mini"))
    assert info.value.retry_after == 1.5


async def test_503_is_unavailable_and_400_is_bad_request(adapter: openai.OpenAIProvider) -> None:
    with pytest.raises(ProviderUnavailable) as down:
        await adapter.complete(ask("gpt-4.1-nano"))
    assert down.value.status == 503
    with pytest.raises(BadRequest) as bad:
        await adapter.complete(ask("gpt-4o"))
    assert "max_tokens is too large" in bad.value.message
    assert not bad.value.retryable


async def test_in_stream_error_after_partial_text(adapter: openai.OpenAIProvider) -> None:
    seen: list[str] = []

    async def consume() -> None:
        async for event in adapter.stream(ask("gpt-4o")):
            seen.append(event.delta)

    with pytest.raises(ProviderUnavailable, match="server_error"):
        await consume()
    assert seen == ["Hello", " there"]


async def test_connection_refused_is_unavailable() -> None:
    settings = load_settings(openai_base_url="http://127.0.0.1:9/v1", openai_api_key="sk-x")
    adapter = openai.create(settings)
    try:
        with pytest.raises(ProviderUnavailable, match="connection failed"):
            await adapter.complete(ask("gpt-4o-mini"))
    finally:
        await adapter.aclose()
