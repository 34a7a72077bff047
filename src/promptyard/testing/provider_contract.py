"""The contract every provider adapter passes (subclass it, pytest style).

::

    class TestMyProvider(ProviderContract):
        @pytest.fixture
        def provider(self) -> Provider: ...
        @pytest.fixture
        def model(self) -> str: ...
        def arrange(self, provider, scenario, model):   # optional: make it fail on demand
            ...

``arrange`` returns the request that makes the provider hit a failure ``scenario``
(``rate_limited`` with Retry-After :attr:`ProviderContract.retry_after`, ``unavailable``,
``bad_request``, ``stream_error``), or None when the adapter cannot be made to fail that
way (the test is then skipped, visibly).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest

from promptyard.chat import ChatMessage
from promptyard.errors import BadRequest, ProviderError, ProviderUnavailable, RateLimited
from promptyard.providers.base import CompletionRequest, CompletionResponse, Provider, ResponseFormat, StreamEvent

Scenario = Literal["rate_limited", "unavailable", "bad_request", "stream_error"]

JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 40},
        "sentiment": {"enum": ["positive", "negative", "neutral"]},
    },
    "required": ["city", "sentiment"],
    "additionalProperties": False,
}


class ProviderContract:
    """Behaviour shared by every :class:`~promptyard.providers.base.Provider`."""

    supports_json_schema: bool = True
    """Set False for adapters (or replay fixtures) that cannot produce schema-valid JSON."""
    stream_reports_usage: bool = True
    """Set False for servers that send no usage in streams (llama-cpp-python's server)."""
    retry_after: float = 2.0
    """The Retry-After (seconds) the ``rate_limited`` scenario carries."""
    max_tokens: int = 24

    # ---- to provide ----------------------------------------------------------------
    @pytest.fixture
    def provider(self) -> Provider:
        raise NotImplementedError("subclasses provide a `provider` fixture")

    @pytest.fixture
    def model(self) -> str:
        raise NotImplementedError("subclasses provide a `model` fixture")

    def arrange(self, provider: Provider, scenario: Scenario, model: str) -> CompletionRequest | None:
        """Prepare ``provider`` to fail with ``scenario`` and return the request that triggers it."""
        return None

    # ---- helpers -------------------------------------------------------------------
    def request(self, model: str, text: str = "Say hello in one short sentence.", **kwargs: Any) -> CompletionRequest:
        params: dict[str, Any] = {"max_tokens": self.max_tokens, "temperature": 0.0}
        params.update(kwargs)
        return CompletionRequest(model=model, messages=[ChatMessage(role="user", content=text)], **params)

    def _arranged(self, provider: Provider, scenario: Scenario, model: str) -> CompletionRequest:
        request = self.arrange(provider, scenario, model)
        if request is None:
            pytest.skip(f"{type(self).__name__} cannot arrange the {scenario!r} scenario")
        return request

    @staticmethod
    async def collect(provider: Provider, request: CompletionRequest) -> list[StreamEvent]:
        return [event async for event in provider.stream(request)]

    # ---- the contract --------------------------------------------------------------
    async def test_has_a_name(self, provider: Provider) -> None:
        assert isinstance(provider, Provider)
        assert provider.name

    async def test_complete_returns_text_usage_and_finish_reason(self, provider: Provider, model: str) -> None:
        response = await provider.complete(self.request(model))
        assert isinstance(response, CompletionResponse)
        assert response.text.strip()
        assert response.finish_reason in {"stop", "length"}
        assert response.usage.input_tokens > 0
        assert response.usage.output_tokens > 0
        assert response.usage.cache_read_tokens <= response.usage.input_tokens
        assert response.timings.total_ms > 0

    async def test_stream_yields_deltas_then_one_final_event(self, provider: Provider, model: str) -> None:
        events = await self.collect(provider, self.request(model))
        assert len(events) >= 2, "a stream has at least one delta and the final event"
        *deltas, final = events
        assert all(e.finish_reason is None and e.usage is None for e in deltas)
        assert "".join(e.delta for e in deltas).strip()
        assert final.finish_reason in {"stop", "length"}
        assert final.usage is not None
        if self.stream_reports_usage:
            assert final.usage.input_tokens > 0
            assert final.usage.output_tokens > 0

    async def test_stream_closed_early_raises_nothing(self, provider: Provider, model: str) -> None:
        stream = provider.stream(self.request(model, "Count from one to fifty in words.", max_tokens=64))
        first = await anext(aiter(stream))
        assert first.delta or first.finish_reason
        await stream.aclose()  # type: ignore[attr-defined]

    async def test_json_schema_output_parses(self, provider: Provider, model: str) -> None:
        if not self.supports_json_schema:
            pytest.skip("this adapter does not constrain output to a JSON Schema")
        fmt = ResponseFormat(type="json_schema", json_schema=JSON_SCHEMA, name="review")
        request = self.request(
            model,
            "I loved my trip to Paris. Answer with JSON: the city and the sentiment.",
            response_format=fmt,
            max_tokens=64,
        )
        response = await provider.complete(request)
        value = json.loads(response.text)
        import jsonschema

        jsonschema.validate(value, JSON_SCHEMA)

    async def test_rate_limited_keeps_retry_after(self, provider: Provider, model: str) -> None:
        request = self._arranged(provider, "rate_limited", model)
        with pytest.raises(RateLimited) as info:
            await provider.complete(request)
        assert info.value.retry_after == pytest.approx(self.retry_after)
        assert info.value.retryable

    async def test_unavailable_maps_to_provider_unavailable(self, provider: Provider, model: str) -> None:
        request = self._arranged(provider, "unavailable", model)
        with pytest.raises(ProviderUnavailable) as info:
            await provider.complete(request)
        assert info.value.retryable

    async def test_bad_request_is_not_retryable(self, provider: Provider, model: str) -> None:
        request = self._arranged(provider, "bad_request", model)
        with pytest.raises(BadRequest) as info:
            await provider.complete(request)
        assert not info.value.retryable

    async def test_in_stream_error_is_translated(self, provider: Provider, model: str) -> None:
        request = self._arranged(provider, "stream_error", model)
        seen: list[StreamEvent] = []

        async def consume() -> None:
            async for event in provider.stream(request):
                seen.append(event)

        with pytest.raises(ProviderError) as info:
            await consume()
        assert isinstance(info.value, ProviderUnavailable | RateLimited)
        assert all(e.finish_reason is None for e in seen), "no final event after an in-stream error"
