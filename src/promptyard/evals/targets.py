"""Targets: the "call the model" functions the runner is given, built on the gateway.

* :func:`prompt_target` runs a pinned prompt version through the gateway (answer cache,
  retries, budgets and tracing included) with the item's inputs as variables;
* :func:`gateway_judge` runs the judge rubric prompt, on its own model or on another one;
* :func:`prompt_row_check` finds rows whose inputs the prompt would refuse, before any call.

RAG targets live in :mod:`promptyard.evals.rag_target`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from promptyard.errors import VariableValidationError
from promptyard.evals.judge import JudgeCallFn
from promptyard.evals.model import CallFn, DatasetItem, ModelAnswer
from promptyard.evals.runner import RowCheck
from promptyard.gateway.base import CallContext, ChatCall, GatewayAPI, GatewayResult, PromptCall
from promptyard.prompts.model import PromptSpec, VarType

_PLACEHOLDER: dict[VarType, Any] = {
    "string": "",
    "integer": 0,
    "number": 0.0,
    "boolean": False,
    "list": [],
    "object": {},
}


def prompt_variables(spec: PromptSpec, inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs the prompt declares (datasets often carry more columns than a prompt uses)."""
    return {k: v for k, v in inputs.items() if k in spec.variables}


def prompt_row_check(spec: PromptSpec, *, provided: Collection[str] = ()) -> RowCheck:
    """A check that lists what the prompt's validation would refuse in a row.

    ``provided`` names variables the target fills itself (RAG fills ``documents``).
    """
    from promptyard.prompts.render import validate_variables

    def check(item: DatasetItem) -> list[str]:
        variables = prompt_variables(spec, item.inputs)
        for name in provided:
            if name in spec.variables:
                variables[name] = _PLACEHOLDER[spec.variables[name].type]
        try:
            validate_variables(spec, variables)
        except VariableValidationError as exc:
            return exc.problems
        return []

    return check


def answer_from_result(result: GatewayResult) -> ModelAnswer:
    return ModelAnswer(
        text=result.text,
        parsed=result.parsed,
        input_tokens=result.usage.input_tokens,
        output_tokens=result.usage.output_tokens,
        cost_usd=result.cost_usd,
        latency_ms=result.latency_ms,
        cache_hit=result.cache_hit,
        trace_id=result.trace_id,
        provider=result.provider,
        model=result.model,
    )


def prompt_target(
    gateway: GatewayAPI, spec: PromptSpec, *, use_cache: bool = True, project: str | None = None
) -> CallFn:
    """Run ``spec`` (a resolved ``name@version``) through the gateway for each item."""

    async def call(item: DatasetItem) -> ModelAnswer:
        result = await gateway.run(
            PromptCall(
                name=spec.name,
                version=spec.version,
                variables=prompt_variables(spec, item.inputs),
                context=CallContext(project=project, bypass_cache=not use_cache, end_user="promptyard-eval"),
            )
        )
        return answer_from_result(result)

    return call


def gateway_judge(gateway: GatewayAPI, spec: PromptSpec, *, model: str | None = None) -> JudgeCallFn:
    """The judge call: the rubric prompt through the gateway.

    With ``model`` (``provider/model``) the rubric is rendered here and sent to that model
    as chat messages; otherwise the rubric's own model config is used.
    """

    async def judge_call(variables: dict[str, Any]) -> Any:
        if model is None:
            result = await gateway.run(
                PromptCall(
                    name=spec.name,
                    version=spec.version,
                    variables=variables,
                    context=CallContext(end_user="promptyard-judge"),
                )
            )
            return result.parsed if result.parsed is not None else result.text
        from promptyard.prompts.render import render_prompt
        from promptyard.providers.base import ResponseFormat

        rendered = render_prompt(spec, variables)
        schema = spec.output.json_schema
        result = await gateway.chat(
            ChatCall(
                model=model,
                messages=rendered.messages,
                temperature=spec.model.temperature,
                max_tokens=spec.model.max_tokens,
                response_format=ResponseFormat(type="json_schema", json_schema=schema)
                if schema
                else ResponseFormat(type="json_object"),
                context=CallContext(end_user="promptyard-judge"),
            )
        )
        return result.text

    return judge_call
