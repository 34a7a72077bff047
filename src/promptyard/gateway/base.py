"""The gateway's public request and result types.

Every call, whether a pinned prompt (``run``) or raw chat messages (``chat``, used by the
OpenAI-compatible endpoint with ``model="provider/model"``), goes through one pipeline
whose order is written once, in ``gateway/pipeline.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from pydantic import BaseModel, Field

from promptyard.chat import ChatMessage
from promptyard.providers.base import ResponseFormat, StreamEvent, Usage


class CallContext(BaseModel):
    """Who is calling: used for rate limits, budgets and traces."""

    project: str | None = None
    """Unset: ``PROMPTYARD_PROJECT``."""
    api_key_id: str | None = None
    end_user: str | None = None
    session: str | None = None
    """The end user's session (a split with ``--unit session`` hashes it)."""
    tenant: str | None = None
    """Part of the answer-cache key: tenants never share cached answers."""
    bypass_cache: bool = False
    parent_trace_id: str | None = None


class PromptCall(BaseModel):
    """Run a registry prompt. Exactly one of ``version`` or ``label`` is required."""

    name: str
    version: str | None = None
    label: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    corpus_version: int | None = None
    """Set when retrieval fed the variables: part of the answer-cache key."""
    temperature: float | None = None
    max_tokens: int | None = None
    context: CallContext = Field(default_factory=CallContext)


class ChatCall(BaseModel):
    """Raw chat messages to ``provider/model`` (OpenAI-compatible endpoint)."""

    model: str
    messages: list[ChatMessage]
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: list[str] = Field(default_factory=list)
    seed: int | None = None
    response_format: ResponseFormat | None = None
    context: CallContext = Field(default_factory=CallContext)


class GatewayResult(BaseModel):
    text: str
    parsed: Any = None
    """The parsed JSON when the prompt declares JSON output."""
    provider: str
    model: str
    finish_reason: str = "stop"
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    cache_hit: bool = False
    degraded: bool = False
    fallback_used: str | None = None
    retries: int = 0
    trace_id: str
    prompt: str | None = None
    """``name@version`` when a prompt was run."""
    request_id: str | None = None
    latency_ms: float = 0.0
    stale: bool = False
    """A cached answer past its TTL, served because the provider was rate-limited."""


class GatewayStream(Protocol):
    """An async iterator of text deltas; ``result`` is set once it is exhausted."""

    result: GatewayResult | None

    def __aiter__(self) -> AsyncIterator[StreamEvent]: ...

    async def aclose(self) -> None: ...


class GatewayAPI(Protocol):
    async def run(self, call: PromptCall) -> GatewayResult: ...

    async def chat(self, call: ChatCall) -> GatewayResult: ...

    def run_stream(self, call: PromptCall) -> GatewayStream: ...

    def chat_stream(self, call: ChatCall) -> GatewayStream: ...
