"""The OpenAI Chat Completions wire format: request parsing and response building.

Requests are validated with one pydantic model (``ChatCompletionRequest``) straight
from the raw body; responses are built as plain dicts and encoded with orjson, so the
hot path pays for no response-model validation.

``model`` selects what runs:

- ``provider/model`` (``openai/gpt-4o-mini``, ``local/smollm2-135m-instruct``): the chat
  messages go to that provider through the gateway pipeline.
- ``prompt:NAME@LABEL`` or ``prompt:NAME@VERSION`` (``prompt:summarize_email@production``,
  ``prompt:summarize_email@1.2.0``): a registry prompt runs with the variables given in the
  ``promptyard`` field; ``messages`` are not sent to the model (the prompt renders its own).

promptyard's extras travel in a top-level ``promptyard`` object, which is where the
OpenAI SDK's ``extra_body={"promptyard": {...}}`` puts them.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from promptyard.chat import ChatMessage
from promptyard.errors import InvalidInput
from promptyard.gateway.base import CallContext, ChatCall, GatewayResult, PromptCall
from promptyard.prompts.refs import split_ref
from promptyard.providers.base import ResponseFormat, StreamEvent, Usage

PROMPT_PREFIX = "prompt:"
_FINISH = {"stop", "length", "tool_calls", "content_filter", "function_call"}


class _Loose(BaseModel):
    """Unknown fields are ignored, as OpenAI-compatible servers commonly do."""

    model_config = ConfigDict(extra="ignore")


class TextPart(_Loose):
    type: Literal["text"]
    text: str


class WireMessage(_Loose):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None

    def to_chat(self) -> ChatMessage:
        role = "system" if self.role == "developer" else self.role
        text = "".join(part.text for part in self.content) if isinstance(self.content, list) else self.content or ""
        return ChatMessage(role=role, content=text)


class JsonSchemaSpec(_Loose):
    name: str = "output"
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class WireResponseFormat(_Loose):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaSpec | None = None

    def to_format(self) -> ResponseFormat:
        if self.type == "json_schema":
            if self.json_schema is None or self.json_schema.schema_ is None:
                raise InvalidInput("response_format.json_schema.schema is required when type is 'json_schema'")
            return ResponseFormat(type="json_schema", json_schema=self.json_schema.schema_, name=self.json_schema.name)
        return ResponseFormat(type=self.type)


class StreamOptions(_Loose):
    include_usage: bool = False


class PromptyardExtras(BaseModel):
    """The ``promptyard`` field: what the OpenAI schema has no place for."""

    model_config = ConfigDict(extra="forbid")

    variables: dict[str, Any] = Field(default_factory=dict)
    """Template variables for ``prompt:NAME@LABEL`` models."""
    end_user: str | None = None
    """Who the end user is (rate limits, traces). Falls back to OpenAI's ``user``."""
    session: str | None = None
    """The end user's session (splits with ``--unit session`` assign by it)."""
    bypass_cache: bool = False
    """Skip the answer cache for this request (the answer is still stored)."""
    tenant: str | None = None
    """Tenant: part of the answer-cache key."""
    corpus_version: int | None = None
    """Corpus version when retrieval fed the variables (part of the answer-cache key)."""


class ChatCompletionRequest(_Loose):
    model: Annotated[str, Field(min_length=1)]
    messages: list[WireMessage] = Field(default_factory=list)
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    n: Annotated[int, Field(ge=1, le=1)] = 1
    stream: bool = False
    stream_options: StreamOptions | None = None
    response_format: WireResponseFormat | None = None
    user: str | None = None
    promptyard: PromptyardExtras = Field(default_factory=PromptyardExtras)

    @field_validator("stop")
    @classmethod
    def _stop_limit(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def context(self, api_key_id: str | None) -> CallContext:
        extras = self.promptyard
        return CallContext(
            api_key_id=api_key_id,
            end_user=extras.end_user or self.user,
            session=extras.session,
            tenant=extras.tenant,
            bypass_cache=extras.bypass_cache,
        )

    def to_call(self, api_key_id: str | None) -> ChatCall | PromptCall:
        """The gateway call this request asks for."""
        max_tokens = self.max_completion_tokens or self.max_tokens
        ctx = self.context(api_key_id)
        if self.model.startswith(PROMPT_PREFIX):
            name, version, label = parse_prompt_ref(self.model[len(PROMPT_PREFIX) :])
            return PromptCall(
                name=name,
                version=version,
                label=label,
                variables=self.promptyard.variables,
                corpus_version=self.promptyard.corpus_version,
                temperature=self.temperature,
                max_tokens=max_tokens,
                context=ctx,
            )
        if not self.messages:
            raise InvalidInput("messages must not be empty", hint="send at least one message, e.g. a user message")
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        return ChatCall(
            model=self.model,
            messages=[m.to_chat() for m in self.messages],
            temperature=self.temperature,
            max_tokens=max_tokens,
            top_p=self.top_p,
            stop=stop,
            seed=self.seed,
            response_format=self.response_format.to_format() if self.response_format else None,
            context=ctx,
        )


def parse_prompt_ref(ref: str) -> tuple[str, str | None, str | None]:
    """``NAME@LABEL`` or ``NAME@VERSION`` -> (name, version, label); a version is semver (``1.2.0``)."""
    name, version, label = split_ref(ref)
    if version is None and label is None:
        raise InvalidInput(
            f"prompt reference {ref!r} needs a version or a label",
            hint="use NAME@LABEL (summarize_email@production) or NAME@VERSION (summarize_email@1.2.0)",
        )
    return name, version, label


# ---- responses -------------------------------------------------------------------------


def finish_reason(value: str | None) -> str:
    return value if value in _FINISH else "stop"


def usage_dict(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def extras_dict(result: GatewayResult) -> dict[str, Any]:
    """promptyard's own facts about the call, in a top-level ``promptyard`` field."""
    return {
        "trace_id": result.trace_id,
        "provider": result.provider,
        "model": result.model,
        "prompt": result.prompt,
        "cost_usd": result.cost_usd,
        "cache_hit": result.cache_hit,
        "degraded": result.degraded,
        "fallback_used": result.fallback_used,
        "retries": result.retries,
        "latency_ms": result.latency_ms,
    }


def completion_dict(result: GatewayResult, model: str) -> dict[str, Any]:
    """A ``chat.completion`` object."""
    return {
        "id": f"chatcmpl-{result.trace_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.text, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason(result.finish_reason),
            }
        ],
        "usage": usage_dict(result.usage),
        "promptyard": extras_dict(result),
    }


class ChunkWriter:
    """Builds the ``chat.completion.chunk`` objects of one stream."""

    def __init__(self, stream_id: str, model: str, *, include_usage: bool) -> None:
        self.id = stream_id
        self.model = model
        self.created = int(time.time())
        self.include_usage = include_usage

    def _chunk(self, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def role(self) -> dict[str, Any]:
        return self._chunk({"role": "assistant", "content": "", "refusal": None}, None)

    def delta(self, event: StreamEvent) -> dict[str, Any]:
        return self._chunk({"content": event.delta}, None)

    def finish(self, reason: str | None) -> dict[str, Any]:
        return self._chunk({}, finish_reason(reason))

    def usage(self, usage: Usage, result: GatewayResult | None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [],
            "usage": usage_dict(usage),
        }
        if result is not None:
            chunk["promptyard"] = extras_dict(result)
        return chunk
