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


ConstraintKind = Literal["cited_extractive"]


class ConstraintSource(BaseModel):
    """A document the constrained answer may copy from and cite."""

    id: str
    text: str


class ConstraintOptions(BaseModel):
    """How a decoding constraint behaves: shared by the prompt file's ``model.constrain``
    (:class:`promptyard.prompts.model.ConstrainConfig`) and the request's :class:`DecodingConstraint`."""

    max_span_tokens: int = Field(default=32, ge=1, le=256)
    """The longest span copied from a source (the citation follows it)."""
    model_abstains: bool = True
    """The model may start the abstention sentence itself (else only ``abstain_below`` abstains)."""
    abstain_below: float | None = None
    """Answer the abstention sentence when the copied span's mean token log-probability is below this
    (unset: only when the model itself starts the abstention sentence)."""
    numbers_when_asked: bool = False
    """A span starts on a number only when the question asks for one (when, how many, ...)."""
    skip_sentence_start: bool = False
    """A span never starts on the first word of a sentence of a source."""
    near_question_bonus: float = Field(default=0.0, ge=0.0, le=20.0)
    """Logit bonus for span starts within 3 words of a word of the question (needs the question)."""
    min_support: float | None = Field(default=None, ge=0.0, le=1.0)
    """Abstain when no source contains this share of the question's content words (needs the question)."""
    on_unsupported: Literal["reject", "ignore"] = "reject"
    """What a provider that cannot apply the constraint does: refuse the call, or generate freely."""


class DecodingConstraint(ConstraintOptions):
    """How the answer's tokens are constrained, beyond a response format (docs/prompts.md).

    ``cited_extractive``: the answer is a span copied verbatim from one source's text,
    followed by `` [id]`` of a source containing it, or exactly ``abstention``. Providers
    list the kinds they apply in ``constraints``; the gateway rejects a request whose kind
    the provider cannot apply (``on_unsupported="reject"``) or drops the constraint
    (``"ignore"``).
    """

    kind: ConstraintKind
    sources: list[ConstraintSource] = Field(default_factory=list)
    question: str | None = None
    """The question: the span avoids repeating its words (see :mod:`.llama_constrain`)."""
    abstention: str = "I don't have information about that"


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
    constraint: DecodingConstraint | None = None
    """Constrained decoding (only providers listing the kind in ``constraints`` apply it)."""
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


def constraints_of(provider: object) -> frozenset[str]:
    """The decoding-constraint kinds a provider applies (its ``constraints`` attribute, else none)."""
    return frozenset(getattr(provider, "constraints", ()))
