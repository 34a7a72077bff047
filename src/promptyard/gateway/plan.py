"""What one call will do, decided before anything is sent: the :class:`Plan`.

Building a plan is pure and cheap: per prompt version, the response format and the
compiled output check are built once and reused (prompt versions are immutable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from promptyard.gateway.base import ChatCall, PromptCall
from promptyard.gateway.cache_key import chat_key, prompt_key
from promptyard.gateway.fallback import Target, parse_target
from promptyard.gateway.fastmodel import Constructor
from promptyard.gateway.validate import OutputCheck
from promptyard.prompts.model import ConstrainConfig, Fallback, PromptSpec
from promptyard.providers.base import CompletionRequest, ConstraintSource, DecodingConstraint, ResponseFormat
from promptyard.tracing.model import TraceKind

_MAX_STATIC = 4096
_request = Constructor(CompletionRequest)


@dataclass(slots=True)
class Plan:
    kind: TraceKind
    target: Target
    request: CompletionRequest
    timeout_s: float
    check: OutputCheck | None
    config: dict[str, Any]
    """Effective model configuration: part of the cache key, and what replay needs."""
    inputs: dict[str, Any]
    prompt_chars: int
    cache_key: str | None = None
    fallbacks: list[Fallback] = field(default_factory=list)
    allow_degraded: bool = False
    prompt_name: str | None = None
    prompt_version: str | None = None
    prompt_label: str | None = None
    corpus_version: int | None = None

    @property
    def prompt_ref(self) -> str | None:
        return f"{self.prompt_name}@{self.prompt_version}" if self.prompt_name else None


@dataclass(frozen=True, slots=True)
class _PromptStatic:
    target: Target
    response_format: ResponseFormat | None
    check: OutputCheck | None


class Planner:
    """Turns calls into plans; caches what is fixed per prompt version and per output schema."""

    def __init__(self, *, default_timeout_s: float) -> None:
        self.default_timeout_s = default_timeout_s
        self._static: dict[tuple[str, str], _PromptStatic] = {}
        self._checks: dict[bytes, OutputCheck | None] = {}

    def _prompt_static(self, spec: PromptSpec) -> _PromptStatic:
        key = (spec.name, spec.version)
        static = self._static.get(key)
        if static is None:
            mc = spec.model
            json_output = mc.response_format == "json"
            rf: ResponseFormat | None = None
            if json_output:
                schema = spec.output.json_schema
                rf = ResponseFormat(
                    type="json_schema" if schema else "json_object", json_schema=schema, name=_schema_name(spec.name)
                )
            static = _PromptStatic(
                target=parse_target(f"{mc.provider}/{mc.model}"),
                response_format=rf,
                check=OutputCheck.from_rules(spec.output, json_output=json_output),
            )
            if len(self._static) >= _MAX_STATIC:
                self._static.clear()
            self._static[key] = static
        return static

    def plan_prompt(
        self,
        call: PromptCall,
        spec: PromptSpec,
        messages: list[Any],
        cache_marks: list[Any],
        variables: dict[str, Any],
    ) -> Plan:
        static = self._prompt_static(spec)
        mc = spec.model
        temperature = call.temperature if call.temperature is not None else mc.temperature
        max_tokens = call.max_tokens if call.max_tokens is not None else mc.max_tokens
        timeout_s = mc.timeout_s or self.default_timeout_s
        request = _request(
            model=static.target.model,
            messages=messages,
            cache_marks=cache_marks,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=mc.top_p,
            stop=mc.stop,
            seed=None,
            response_format=static.response_format,
            timeout_s=timeout_s,
            constraint=None if mc.constrain is None else decoding_constraint(mc.constrain, variables),
            extra={},
        )
        config: dict[str, Any] = {
            "provider": static.target.provider,
            "model": static.target.model,
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if mc.constrain is not None:
            config["constrain"] = mc.constrain.model_dump(exclude={"on_unsupported"})
        ctx = call.context
        return Plan(
            kind="prompt",
            target=static.target,
            request=request,
            timeout_s=timeout_s,
            check=static.check,
            config=config,
            inputs=call.variables,
            prompt_chars=sum(len(m.content) for m in messages),
            cache_key=None
            if ctx.bypass_cache
            else prompt_key(
                name=spec.name,
                version=spec.version,
                variables=variables,
                model_config=config,
                tenant=ctx.tenant,
                corpus_version=call.corpus_version,
            ),
            fallbacks=mc.fallbacks,
            allow_degraded=mc.allow_degraded,
            prompt_name=spec.name,
            prompt_version=spec.version,
            prompt_label=call.label,
            corpus_version=call.corpus_version,
        )

    def plan_chat(self, call: ChatCall) -> Plan:
        target = parse_target(call.model)
        rf = call.response_format
        check = self._chat_check(rf)
        request = _request(
            model=target.model,
            messages=call.messages,
            cache_marks=[],
            temperature=call.temperature,
            max_tokens=call.max_tokens,
            top_p=call.top_p,
            stop=call.stop,
            seed=call.seed,
            response_format=rf,
            timeout_s=self.default_timeout_s,
            extra={},
        )
        config: dict[str, Any] = {
            "provider": target.provider,
            "model": target.model,
            "temperature": call.temperature,
            "max_tokens": call.max_tokens,
            "top_p": call.top_p,
            "stop": call.stop,
            "seed": call.seed,
        }
        if rf is not None and rf.type != "text":
            config["response_format"] = {"type": rf.type, "json_schema": rf.json_schema}
        ctx = call.context
        return Plan(
            kind="chat",
            target=target,
            request=request,
            timeout_s=self.default_timeout_s,
            check=check,
            config=config,
            inputs={"messages": [{"role": m.role, "content": m.content} for m in call.messages]},
            prompt_chars=sum(len(m.content) for m in call.messages),
            cache_key=None
            if ctx.bypass_cache
            else chat_key(messages=call.messages, model_config=config, tenant=ctx.tenant),
        )

    def _chat_check(self, rf: ResponseFormat | None) -> OutputCheck | None:
        if rf is None or rf.type == "text":
            return None
        key = orjson.dumps([rf.type, rf.json_schema], option=orjson.OPT_SORT_KEYS)
        if key not in self._checks:
            if len(self._checks) >= _MAX_STATIC:
                self._checks.clear()
            self._checks[key] = OutputCheck(json_output=True, json_schema=rf.json_schema)
        return self._checks[key]


def _schema_name(name: str) -> str:
    """OpenAI wants ``^[a-zA-Z0-9_-]{1,64}$`` for a response-format name."""
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in name)[:64]
    return cleaned or "output"


def _text(value: Any) -> str:
    """A variable's plain text (untrusted values may arrive wrapped: ``.unwrapped``)."""
    return str(getattr(value, "unwrapped", value))


def decoding_constraint(config: ConstrainConfig, variables: dict[str, Any]) -> DecodingConstraint:
    """The request's constraint: the prompt's ``model.constrain`` with its sources filled in
    from the ``config.sources`` list variable (items with ``id`` and ``text``)."""
    sources = [
        ConstraintSource(id=_text(item.get("id")), text=_text(item.get("text")))
        for item in variables.get(config.sources) or []
        if isinstance(item, dict) and item.get("id") is not None and item.get("text") is not None
    ]
    return DecodingConstraint(
        **config.model_dump(exclude={"sources", "question"}),
        sources=sources,
        question=None if config.question is None else _text(variables.get(config.question, "")) or None,
    )
