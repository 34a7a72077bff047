"""The openai adapter against a real llama.cpp OpenAI-compatible server (``python -m llama_cpp.server``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import jsonschema
import pytest

from promptyard.chat import ChatMessage
from promptyard.errors import BadRequest
from promptyard.providers import openai
from promptyard.providers.base import CompletionRequest, Provider
from promptyard.settings import load_settings
from promptyard.testing.provider_contract import JSON_SCHEMA, ProviderContract, Scenario
from tests.providers.conftest import LLAMA_ALIAS

pytestmark = pytest.mark.slow


@pytest.fixture
async def adapter(llama_server: str) -> AsyncIterator[openai.OpenAIProvider]:
    # no API key: a non-default base URL is enough to make the provider usable
    adapter = openai.create(load_settings(openai_base_url=llama_server, openai_api_key=None))
    yield adapter
    await adapter.aclose()


class TestOpenAIAgainstLlamaServer(ProviderContract):
    stream_reports_usage = False  # llama_cpp.server ignores stream_options.include_usage

    @pytest.fixture
    def provider(self, adapter: Provider) -> Provider:
        return adapter

    @pytest.fixture
    def model(self) -> str:
        return LLAMA_ALIAS

    async def test_json_schema_output_parses(self, provider: Provider, model: str) -> None:
        # llama_cpp.server only knows OpenAI's older JSON mode with a schema; the adapter's
        # ``openai_`` extras reach it unchanged.
        request = self.request(
            model,
            "I loved my trip to Paris. Answer with JSON: the city and the sentiment.",
            max_tokens=64,
            extra={"openai_response_format": {"type": "json_object", "schema": JSON_SCHEMA}},
        )
        response = await provider.complete(request)
        jsonschema.validate(json.loads(response.text), JSON_SCHEMA)

    def arrange(self, provider: Provider, scenario: Scenario, model: str) -> CompletionRequest | None:
        if scenario == "bad_request":  # a prompt longer than the server's 2048-token context
            return self.request(model, "word " * 5000)
        return None


async def test_complete_reports_real_token_counts(adapter: openai.OpenAIProvider) -> None:
    request = CompletionRequest(
        model=LLAMA_ALIAS,
        messages=[ChatMessage(role="user", content="Name three colours.")],
        max_tokens=8,
        temperature=0.0,
    )
    response = await adapter.complete(request)
    assert response.text
    assert response.finish_reason in {"stop", "length"}
    assert 0 < response.usage.output_tokens <= 8
    assert response.usage.input_tokens > 5
    assert response.request_id  # x-request-id header of the server
    assert response.model == LLAMA_ALIAS


async def test_stream_deltas_match_a_finish_and_count_missing_usage(adapter: openai.OpenAIProvider) -> None:
    request = CompletionRequest(
        model=LLAMA_ALIAS,
        messages=[ChatMessage(role="user", content="Count from one to five.")],
        max_tokens=12,
        temperature=0.0,
    )
    events = [e async for e in adapter.stream(request)]
    *deltas, final = events
    assert len(deltas) >= 2
    assert "".join(d.delta for d in deltas).strip()
    assert final.finish_reason in {"stop", "length"}
    assert final.request_id
    assert adapter.missing_usage == 1  # visible, not silently zero


async def test_context_overflow_is_a_bad_request(adapter: openai.OpenAIProvider) -> None:
    request = CompletionRequest(model=LLAMA_ALIAS, messages=[ChatMessage(role="user", content="word " * 5000)])
    with pytest.raises(BadRequest) as info:
        await adapter.complete(request)
    assert info.value.status == 400
