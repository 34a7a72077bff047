"""The provider seam: one async protocol, common request and response types.

Adapters (one per file in this package) only speak their wire protocol and translate
vendor errors into :mod:`promptyard.errors` once, at the boundary. Retries, fallbacks,
caching, budgets and tracing wrap the protocol in :mod:`promptyard.gateway`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from promptyard.chat import CacheMark, ChatMessage

FinishReason = Literal["stop", "length", "content_filter", "tool_calls", "error", "cancelled"]


class ResponseFormat(BaseModel):
    """``text``, any JSON object, or JSON constrained by ``json_schema``."""

    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: dict[str, Any] | None = None
    name: str = "output"


class CompletionRequest(BaseModel):
    """What every provider receives. ``model`` is the provider's own model name."""

    model: str
    messages: list[ChatMessage]
    cache_marks: list[CacheMark] = Field(default_factory=list)
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: list[str] = Field(default_factory=list)
    seed: int | None = None
    response_format: ResponseFormat | None = None
    timeout_s: float | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    """Provider-specific options, prefixed by the provider name (``anthropic_top_k``)."""


class Usage(BaseModel):
    """Token counts as the provider reported them (or counted exactly, for local)."""

    input_tokens: int = 0
    """All input tokens, cached ones included."""
    output_tokens: int = 0
    cache_read_tokens: int = 0
    """Input tokens served from the provider's prompt cache."""
    cache_write_tokens: int = 0
    """Input tokens written to the prompt cache with a 5-minute TTL."""
    cache_write_1h_tokens: int = 0
    """Input tokens written to the prompt cache with a 1-hour TTL."""
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class Timings(BaseModel):
    ttft_ms: float | None = None
    """Time to first token (streams; equals total for non-streaming calls)."""
    total_ms: float = 0.0


class CompletionResponse(BaseModel):
    text: str
    finish_reason: FinishReason | str = "stop"
    usage: Usage = Field(default_factory=Usage)
    timings: Timings = Field(default_factory=Timings)
    request_id: str | None = None
    provider: str = ""
    model: str = ""


class StreamEvent(BaseModel):
    """One piece of a stream: text ``delta``; the last event carries ``finish_reason`` and ``usage``."""

    delta: str = ""
    finish_reason: FinishReason | str | None = None
    usage: Usage | None = None
    request_id: str | None = None


@runtime_checkable
class Provider(Protocol):
    """A model provider. Implementations live one per file; see ``providers/registry.py``."""

    name: str

    async def complete(self, request: CompletionRequest) -> CompletionResponse: ...

    def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]: ...

    async def aclose(self) -> None: ...
