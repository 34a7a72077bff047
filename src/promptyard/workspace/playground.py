"""The playground: variables from a form generated from the variable schema, one run per version.

A run goes through the real gateway (limits, budget, cache, traces). With the version's own
model it is a prompt call (traced under the prompt's name and version); with another model
the version is rendered here and sent as a chat call to ``provider/model``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel

from promptyard.errors import InvalidInput, PromptyardError
from promptyard.gateway.base import CallContext, ChatCall, GatewayAPI, PromptCall
from promptyard.prompts.model import PromptSpec, VariableSpec
from promptyard.prompts.render import render_prompt

__all__ = ["FormField", "RunOutcome", "coerce_variables", "form_fields", "run_version"]

_CITE = re.compile(r"\[([A-Za-z0-9_.:-]{1,100})\]")

InputKind = Literal["textarea", "number", "checkbox", "json"]


class FormField(BaseModel):
    """One input of the generated form."""

    name: str
    kind: InputKind
    value: str
    required: bool
    description: str
    type: str
    step: str | None = None


class RunOutcome(BaseModel):
    """What the page shows for one run."""

    version: str
    model: str
    ok: bool
    answer: str | None = None
    error: str | None = None
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    trace_id: str | None = None
    citations: list[str] = []


def _kind(var: VariableSpec) -> InputKind:
    if var.type in ("integer", "number"):
        return "number"
    if var.type == "boolean":
        return "checkbox"
    return "json" if var.type in ("list", "object") else "textarea"


def _show(var: VariableSpec, value: Any) -> str:
    if value is None:
        return ""
    if var.type in ("list", "object"):
        return json.dumps(value, ensure_ascii=False, indent=2)
    if var.type == "boolean":
        return "on" if value else ""
    return str(value)


def form_fields(spec: PromptSpec, values: Mapping[str, Any] | None = None) -> list[FormField]:
    """One field per declared variable, prefilled from ``values`` (e.g. a trace's inputs) or the default."""
    values = values or {}
    return [
        FormField(
            name=name,
            kind=_kind(var),
            value=_show(var, values.get(name, var.default)),
            required=var.required and var.default is None,
            description=var.description,
            type=var.type,
            step="1" if var.type == "integer" else "any" if var.type == "number" else None,
        )
        for name, var in spec.variables.items()
    ]


def coerce_variables(spec: PromptSpec, form: Mapping[str, str]) -> dict[str, Any]:
    """Typed variables from form strings (prefix ``var.``); InvalidInput lists every bad field."""
    out: dict[str, Any] = {}
    problems: list[str] = []
    for name, var in spec.variables.items():
        raw = form.get(f"var.{name}")
        if var.type == "boolean":
            out[name] = raw is not None and raw != ""
            continue
        if raw is None or raw == "":
            continue  # absent: the renderer applies the default or reports a missing variable
        try:
            if var.type == "integer":
                out[name] = int(raw)
            elif var.type == "number":
                out[name] = float(raw)
            elif var.type in ("list", "object"):
                out[name] = json.loads(raw)
            else:
                out[name] = raw
        except ValueError as exc:
            problems.append(f"{name}: not a valid {var.type} ({exc})")
    if problems:
        raise InvalidInput("; ".join(problems), hint="list and object variables take JSON")
    return out


async def run_version(
    gateway: GatewayAPI,
    spec: PromptSpec,
    variables: dict[str, Any],
    *,
    model: str | None,
    api_key_id: str | None,
) -> RunOutcome:
    """Run ``spec`` with ``variables``; errors are captured in the outcome, not raised."""
    own = f"{spec.model.provider}/{spec.model.model}"
    chosen = model or own
    context = CallContext(api_key_id=api_key_id, end_user="workspace")
    started = time.perf_counter()
    try:
        if chosen == own:
            result = await gateway.run(
                PromptCall(name=spec.name, version=spec.version, variables=variables, context=context)
            )
        else:
            rendered = render_prompt(spec, variables)
            result = await gateway.chat(
                ChatCall(
                    model=chosen,
                    messages=list(rendered.messages),
                    temperature=spec.model.temperature,
                    max_tokens=spec.model.max_tokens,
                    context=context,
                )
            )
    except PromptyardError as exc:
        return RunOutcome(
            version=spec.version,
            model=chosen,
            ok=False,
            error=f"{type(exc).__name__}: {exc}",
            latency_ms=(time.perf_counter() - started) * 1000,
        )
    cited = sorted(set(_citations(result.text)))
    return RunOutcome(
        version=spec.version,
        model=f"{result.provider}/{result.model}",
        ok=True,
        answer=result.text,
        cost_usd=result.cost_usd,
        latency_ms=result.latency_ms or (time.perf_counter() - started) * 1000,
        input_tokens=result.usage.input_tokens,
        output_tokens=result.usage.output_tokens,
        trace_id=result.trace_id,
        citations=cited,
    )


def _citations(text: str) -> list[str]:
    """Document ids cited as ``[doc-id]`` in an answer (the RAG answer prompts' convention)."""
    return _CITE.findall(text)
