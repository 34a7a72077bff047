"""OpenAI-compatible Chat Completions over httpx (OpenAI, llama.cpp server, vLLM, ...).

The *endpoint* (base URL, bearer key, one pooled keep-alive client) is separate from the
*wire format* (:class:`ChatCompletionsWire`: request body and response mapping), so
another OpenAI-compatible vendor is a small ``create`` with its own :class:`Endpoint`.

Usage mapping: ``prompt_tokens`` -> ``input_tokens`` (it already includes cached tokens),
``prompt_tokens_details.cached_tokens`` -> ``cache_read_tokens``,
``completion_tokens`` -> ``output_tokens`` (reasoning included),
``completion_tokens_details.reasoning_tokens`` -> ``reasoning_tokens``. OpenAI caches
prefixes automatically and charges no write premium, so cache-write counts stay 0.

Streams ask for ``stream_options.include_usage``; the usage arrives in a last chunk with
no choices, after the chunk carrying ``finish_reason``. A server that sends no usage
leaves it at 0 and is counted in ``OpenAIProvider.missing_usage``.

Provider-specific options: ``extra`` keys starting with ``openai_`` are merged into the
body without the prefix (``openai_max_completion_tokens``, ``openai_response_format``, ...).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import orjson

from promptyard.errors import ProviderError, ProviderUnavailable
from promptyard.providers.base import CompletionRequest, CompletionResponse, StreamEvent, Timings, Usage
from promptyard.providers.http import (
    Endpoint,
    JSONDict,
    error_from_status,
    error_from_type,
    iter_sse,
    loads,
    transport_error,
)
from promptyard.providers.transport import TransportError

if TYPE_CHECKING:
    from promptyard.settings import Settings

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_FINISH = {"function_call": "tool_calls"}
# Models that refuse ``max_tokens`` and want ``max_completion_tokens``.
_COMPLETION_TOKENS_PREFIXES = ("o1", "o3", "o4", "gpt-5")
_SSE_HEADERS = {"accept": "text/event-stream"}


def usage_from_openai(raw: JSONDict | None) -> Usage:
    """Map an OpenAI ``usage`` object onto :class:`Usage`."""
    if not raw:
        return Usage()
    prompt_details = raw.get("prompt_tokens_details") or {}
    completion_details = raw.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=raw.get("prompt_tokens") or 0,
        output_tokens=raw.get("completion_tokens") or 0,
        cache_read_tokens=prompt_details.get("cached_tokens") or 0,
        reasoning_tokens=completion_details.get("reasoning_tokens") or 0,
    )


class ChatCompletionsWire:
    """The ``/chat/completions`` wire format: request body out, responses in."""

    path = "/chat/completions"

    def body(self, request: CompletionRequest, *, stream: bool) -> bytes:
        body: JSONDict = {
            "model": request.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            field = "max_completion_tokens" if request.model.startswith(_COMPLETION_TOKENS_PREFIXES) else "max_tokens"
            body[field] = request.max_tokens
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.stop:
            body["stop"] = request.stop
        if request.seed is not None:
            body["seed"] = request.seed
        fmt = request.response_format
        if fmt is not None and fmt.type != "text":
            if fmt.type == "json_schema" and fmt.json_schema is not None:
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": fmt.name, "schema": fmt.json_schema},
                }
            else:
                body["response_format"] = {"type": "json_object"}
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        for key, value in request.extra.items():
            if key.startswith("openai_"):
                body[key[7:]] = value
        return orjson.dumps(body)

    @staticmethod
    def finish_reason(raw: str | None) -> str:
        if raw is None:
            return "stop"
        return _FINISH.get(raw, raw)

    def response(self, data: JSONDict) -> tuple[str, str, Usage, str | None, str]:
        """``(text, finish_reason, usage, body id, model)`` from a non-streaming body."""
        choices = data.get("choices") or []
        if not choices:
            raise ProviderUnavailable("openai-compatible response without choices", provider="openai")
        choice = choices[0]
        message = choice.get("message") or {}
        text = message.get("content")
        finish = self.finish_reason(choice.get("finish_reason"))
        if not text and message.get("refusal"):
            text, finish = message["refusal"], "content_filter"
        return text or "", finish, usage_from_openai(data.get("usage")), data.get("id"), data.get("model", "")


class OpenAIProvider:
    """Chat Completions against any OpenAI-compatible base URL."""

    def __init__(self, endpoint: Endpoint, *, name: str = "openai", wire: ChatCompletionsWire | None = None) -> None:
        self.name = name
        self.endpoint = endpoint
        self.wire = wire or ChatCompletionsWire()
        self._client = endpoint.client()
        self.missing_usage = 0
        """Streams that ended without a usage chunk (their usage is 0)."""

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        start = time.perf_counter()
        content = self.wire.body(request, stream=False)
        try:
            status, headers, body = await self._client.post(self.wire.path, content, None, request.timeout_s)
        except TransportError as exc:
            raise transport_error(self.name, exc) from exc
        if status >= 400:
            raise error_from_status(self.name, status, headers, body)
        try:
            data = loads(body)
            text, finish, usage, body_id, model = self.wire.response(data)
        except (orjson.JSONDecodeError, AttributeError, TypeError) as exc:
            raise ProviderUnavailable(f"{self.name}: malformed response body: {exc}", provider=self.name) from exc
        except ProviderError as exc:
            exc.provider = self.name
            raise
        total = (time.perf_counter() - start) * 1000.0
        return CompletionResponse(
            text=text,
            finish_reason=finish,
            usage=usage,
            timings=Timings(ttft_ms=total, total_ms=total),
            request_id=headers.get("x-request-id") or body_id,
            provider=self.name,
            model=model or request.model,
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        content = self.wire.body(request, stream=True)
        finish: str | None = None
        usage: Usage | None = None
        request_id: str | None = None
        try:
            async with self._client.stream(self.wire.path, content, _SSE_HEADERS, request.timeout_s) as response:
                if response.status >= 400:
                    raise error_from_status(self.name, response.status, response.headers, await response.read())
                request_id = response.headers.get("x-request-id")
                done = False
                async for event, data in iter_sse(response.aiter_bytes()):
                    # Read to the end even after [DONE]: a fully read response returns its
                    # keep-alive connection to the pool; leaving early would close it.
                    if done or data == b"[DONE]":
                        done = True
                        continue
                    chunk = self._chunk(event, data)
                    if request_id is None:
                        request_id = chunk.get("id")
                    if chunk.get("usage"):
                        usage = usage_from_openai(chunk["usage"])
                    for choice in chunk.get("choices") or ():
                        if choice.get("index", 0) != 0:
                            continue
                        delta = choice.get("delta") or {}
                        text = delta.get("content") or delta.get("refusal")
                        if delta.get("refusal") and not delta.get("content"):
                            finish = "content_filter"
                        if text:
                            yield StreamEvent(delta=text)
                        if choice.get("finish_reason") and finish != "content_filter":
                            finish = self.wire.finish_reason(choice["finish_reason"])
        except TransportError as exc:
            raise transport_error(self.name, exc) from exc
        if finish is None:
            raise ProviderUnavailable(f"{self.name}: stream ended before a finish_reason", provider=self.name)
        if usage is None:
            self.missing_usage += 1
            usage = Usage()
        yield StreamEvent(finish_reason=finish, usage=usage, request_id=request_id)

    def _chunk(self, event: str, data: bytes) -> JSONDict:
        try:
            chunk = loads(data)
        except orjson.JSONDecodeError as exc:
            raise ProviderUnavailable(
                f"{self.name}: malformed stream chunk: {data[:120]!r}", provider=self.name
            ) from exc
        if not isinstance(chunk, dict):
            raise ProviderUnavailable(f"{self.name}: unexpected stream chunk: {data[:120]!r}", provider=self.name)
        if event == "error" or "error" in chunk:
            err = chunk.get("error", chunk)
            if not isinstance(err, dict):
                err = {"message": str(err)}
            raise error_from_type(self.name, err.get("type") or err.get("code"), str(err.get("message", "")))
        return chunk

    async def aclose(self) -> None:
        await self._client.aclose()


def create(settings: Settings) -> OpenAIProvider:
    """The ``openai`` provider from ``PROMPTYARD_OPENAI_BASE_URL`` and ``PROMPTYARD_OPENAI_API_KEY``."""
    headers: dict[str, str] = {}
    if settings.openai_api_key is not None:
        headers["authorization"] = f"Bearer {settings.openai_api_key.get_secret_value()}"
    endpoint = Endpoint(
        base_url=settings.openai_base_url,
        headers=headers,
        timeout_s=settings.request_timeout_s,
        client_kind=settings.http_client,
    )
    return OpenAIProvider(endpoint)


def configured(settings: Settings) -> bool:
    """Usable when a key is set or the base URL points somewhere other than api.openai.com."""
    return settings.openai_api_key is not None or settings.openai_base_url.rstrip("/") != DEFAULT_BASE_URL
