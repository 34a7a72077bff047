"""Anthropic's Messages API over httpx, with explicit prompt-cache breakpoints.

Request mapping
    Leading system messages become ``system`` text blocks; every other message becomes a
    text block of a user or assistant message, and consecutive messages of one role are
    merged into one message with several blocks, so a breakpoint can sit between them.
    A :class:`~promptyard.chat.CacheMark` with ``index=n`` puts
    ``cache_control: {type: ephemeral, ttl}`` on the block of message ``n - 1`` (the last
    block of the stable prefix). Anthropic allows 4 breakpoints and wants longer TTLs
    before shorter ones: a 5m mark followed by a 1h mark is dropped (the 1h one caches a
    longer prefix anyway), then the last 4 are kept.

Usage mapping
    Anthropic's ``input_tokens`` counts only input after the last cache breakpoint, so
    our ``input_tokens = input_tokens + cache_creation_input_tokens + cache_read_input_tokens``
    (all input). ``cache_read_input_tokens`` -> ``cache_read_tokens``;
    ``cache_creation.ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens`` ->
    ``cache_write_tokens`` / ``cache_write_1h_tokens``. Without that breakdown, writes count
    as 1h when every breakpoint of the request was 1h, else as 5m.

Errors: 429 -> RateLimited(retry_after), 529 overloaded and 5xx -> ProviderUnavailable,
in-stream ``error`` events by their type (``overloaded_error`` -> ProviderUnavailable).
``extra`` keys starting with ``anthropic_`` are merged into the body without the prefix
(``anthropic_top_k``); ``anthropic_beta`` becomes the ``anthropic-beta`` header.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from promptyard.chat import CacheMark, CacheTTL, ChatMessage
from promptyard.errors import ProviderUnavailable
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

API_VERSION = "2023-06-01"
DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 4096
MAX_BREAKPOINTS = 4
_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_TTL_RANK = {"5m": 0, "1h": 1}


# ---- request mapping -------------------------------------------------------------------
def build_messages(
    messages: Sequence[ChatMessage], marks: Sequence[CacheMark]
) -> tuple[list[JSONDict], list[JSONDict]]:
    """``(system blocks, messages)`` with ``cache_control`` at the cache marks."""
    system: list[JSONDict] = []
    out: list[JSONDict] = []
    block_of: list[JSONDict | None] = []
    last: JSONDict | None = None
    leading = True
    for message in messages:
        if message.role == "system" and leading:
            if message.content:
                last = {"type": "text", "text": message.content}
                system.append(last)
            block_of.append(last)
            continue
        leading = False
        role = "assistant" if message.role == "assistant" else "user"
        if message.content:
            last = {"type": "text", "text": message.content}
            if out and out[-1]["role"] == role:
                out[-1]["content"].append(last)
            else:
                out.append({"role": role, "content": [last]})
        block_of.append(last)
    for block, ttl in _breakpoints(block_of, marks):
        block["cache_control"] = {"type": "ephemeral", "ttl": ttl}
    return system, out


def _breakpoints(block_of: list[JSONDict | None], marks: Sequence[CacheMark]) -> list[tuple[JSONDict, CacheTTL]]:
    chosen: dict[int, tuple[JSONDict, CacheTTL]] = {}
    order: list[int] = []
    for mark in sorted(marks, key=lambda m: m.index):
        if mark.index <= 0 or mark.index > len(block_of):
            continue
        block = block_of[mark.index - 1]
        if block is None:
            continue
        key = id(block)
        if key in chosen:
            if _TTL_RANK[mark.ttl] > _TTL_RANK[chosen[key][1]]:
                chosen[key] = (block, mark.ttl)
            continue
        chosen[key] = (block, mark.ttl)
        order.append(key)
    kept: list[tuple[JSONDict, CacheTTL]] = []
    longest_later = -1
    for key in reversed(order):
        block, ttl = chosen[key]
        if _TTL_RANK[ttl] >= longest_later:
            kept.append((block, ttl))
            longest_later = max(longest_later, _TTL_RANK[ttl])
    kept.reverse()
    return kept[-MAX_BREAKPOINTS:]


def usage_from_anthropic(raw: JSONDict | None, *, default_write_ttl: CacheTTL = "5m") -> Usage:
    """Map Anthropic usage onto :class:`Usage` (``input_tokens`` counts all input)."""
    if not raw:
        return Usage()
    uncached = raw.get("input_tokens") or 0
    read = raw.get("cache_read_input_tokens") or 0
    created = raw.get("cache_creation_input_tokens") or 0
    breakdown = raw.get("cache_creation")
    if isinstance(breakdown, dict) and breakdown:
        write_5m = breakdown.get("ephemeral_5m_input_tokens") or 0
        write_1h = breakdown.get("ephemeral_1h_input_tokens") or 0
        created = max(created, write_5m + write_1h)
    elif default_write_ttl == "1h":
        write_5m, write_1h = 0, created
    else:
        write_5m, write_1h = created, 0
    return Usage(
        input_tokens=uncached + read + created,
        output_tokens=raw.get("output_tokens") or 0,
        cache_read_tokens=read,
        cache_write_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
    )


def stop_reason(raw: str | None) -> str:
    if raw is None:
        return "stop"
    return _STOP.get(raw, raw)


class MessagesWire:
    """The ``/v1/messages`` wire format."""

    path = "/v1/messages"

    def body(self, request: CompletionRequest, *, stream: bool) -> bytes:
        system, messages = build_messages(request.messages, request.cache_marks)
        body: JSONDict = {
            "model": request.model,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": messages,
        }
        if system:
            body["system"] = system
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.stop:
            body["stop_sequences"] = request.stop
        fmt = request.response_format
        if fmt is not None and fmt.type == "json_schema" and fmt.json_schema is not None:
            body["output_config"] = {"format": {"type": "json_schema", "schema": fmt.json_schema}}
        if stream:
            body["stream"] = True
        for key, value in request.extra.items():
            if key.startswith("anthropic_") and key != "anthropic_beta":
                body[key[10:]] = value
        return orjson.dumps(body)

    @staticmethod
    def headers(request: CompletionRequest, *, stream: bool) -> dict[str, str]:
        headers: dict[str, str] = {}
        if stream:
            headers["accept"] = "text/event-stream"
        beta = request.extra.get("anthropic_beta")
        if beta:
            headers["anthropic-beta"] = beta if isinstance(beta, str) else ",".join(beta)
        return headers

    @staticmethod
    def write_ttl(request: CompletionRequest) -> CacheTTL:
        marks = request.cache_marks
        return "1h" if marks and all(m.ttl == "1h" for m in marks) else "5m"


class AnthropicProvider:
    """Claude models through the Messages API."""

    def __init__(self, endpoint: Endpoint, *, name: str = "anthropic", wire: MessagesWire | None = None) -> None:
        self.name = name
        self.endpoint = endpoint
        self.wire = wire or MessagesWire()
        self._client = endpoint.client()

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        start = time.perf_counter()
        content = self.wire.body(request, stream=False)
        try:
            status, headers, body = await self._client.post(
                self.wire.path, content, self.wire.headers(request, stream=False), request.timeout_s
            )
        except TransportError as exc:
            raise transport_error(self.name, exc) from exc
        if status >= 400:
            raise error_from_status(self.name, status, headers, body)
        try:
            data = loads(body)
            blocks: list[Any] = data.get("content") or []
            text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
            usage = usage_from_anthropic(data.get("usage"), default_write_ttl=self.wire.write_ttl(request))
        except (orjson.JSONDecodeError, AttributeError, TypeError) as exc:
            raise ProviderUnavailable(f"{self.name}: malformed response body: {exc}", provider=self.name) from exc
        total = (time.perf_counter() - start) * 1000.0
        return CompletionResponse(
            text=text,
            finish_reason=stop_reason(data.get("stop_reason")),
            usage=usage,
            timings=Timings(ttft_ms=total, total_ms=total),
            request_id=headers.get("request-id") or data.get("id"),
            provider=self.name,
            model=data.get("model") or request.model,
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        raw_usage: JSONDict = {}
        finish: str | None = None
        stopped = False
        request_id: str | None = None
        content = self.wire.body(request, stream=True)
        try:
            async with self._client.stream(
                self.wire.path, content, self.wire.headers(request, stream=True), request.timeout_s
            ) as response:
                if response.status >= 400:
                    raise error_from_status(self.name, response.status, response.headers, await response.read())
                request_id = response.headers.get("request-id")
                async for event, data in iter_sse(response.aiter_bytes()):
                    if stopped:
                        continue  # read to the end so the keep-alive connection is reused
                    payload = self._payload(data)
                    kind = payload.get("type") or event
                    if kind == "content_block_delta":
                        delta = payload.get("delta") or {}
                        if delta.get("type") == "text_delta" and delta.get("text"):
                            yield StreamEvent(delta=delta["text"])
                    elif kind == "content_block_start":
                        block = payload.get("content_block") or {}
                        if block.get("type") == "text" and block.get("text"):
                            yield StreamEvent(delta=block["text"])
                    elif kind == "message_start":
                        message = payload.get("message") or {}
                        request_id = request_id or message.get("id")
                        raw_usage.update(message.get("usage") or {})
                    elif kind == "message_delta":
                        finish = stop_reason((payload.get("delta") or {}).get("stop_reason"))
                        raw_usage.update(payload.get("usage") or {})
                    elif kind == "message_stop":
                        stopped = True
                    elif kind == "error":
                        err = payload.get("error") or {}
                        raise error_from_type(self.name, err.get("type"), str(err.get("message", "")))
                    # ping, content_block_stop and unknown events carry nothing we need.
        except TransportError as exc:
            raise transport_error(self.name, exc) from exc
        if not stopped:
            raise ProviderUnavailable(f"{self.name}: stream ended before message_stop", provider=self.name)
        usage = usage_from_anthropic(raw_usage, default_write_ttl=self.wire.write_ttl(request))
        yield StreamEvent(finish_reason=finish or "stop", usage=usage, request_id=request_id)

    def _payload(self, data: bytes) -> JSONDict:
        try:
            payload = loads(data)
        except orjson.JSONDecodeError as exc:
            raise ProviderUnavailable(
                f"{self.name}: malformed stream event: {data[:120]!r}", provider=self.name
            ) from exc
        if not isinstance(payload, dict):
            raise ProviderUnavailable(f"{self.name}: unexpected stream event: {data[:120]!r}", provider=self.name)
        return payload

    async def aclose(self) -> None:
        await self._client.aclose()


def create(settings: Settings) -> AnthropicProvider:
    """The ``anthropic`` provider from ``PROMPTYARD_ANTHROPIC_BASE_URL`` and ``PROMPTYARD_ANTHROPIC_API_KEY``."""
    headers = {"anthropic-version": API_VERSION}
    if settings.anthropic_api_key is not None:
        headers["x-api-key"] = settings.anthropic_api_key.get_secret_value()
    endpoint = Endpoint(
        base_url=settings.anthropic_base_url,
        headers=headers,
        timeout_s=settings.request_timeout_s,
        client_kind=settings.http_client,
    )
    return AnthropicProvider(endpoint)


def configured(settings: Settings) -> bool:
    """Usable when a key is set or the base URL points somewhere other than api.anthropic.com."""
    return settings.anthropic_api_key is not None or settings.anthropic_base_url.rstrip("/") != DEFAULT_BASE_URL
