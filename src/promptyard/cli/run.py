"""``promptyard run NAME@LABEL --var key=value``: run a prompt through the gateway, in process.

Tokens stream to stdout as the model produces them; a footer (model, tokens, cost, cache
hit, latency, trace id) goes to stderr so stdout stays clean for pipes. ``--json`` prints
the whole result as JSON instead.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from promptyard.cli.common import err_console, handled, runtime
from promptyard.cli.prompts import _parse_vars as parse_vars
from promptyard.errors import InvalidInput
from promptyard.gateway.base import CallContext, GatewayResult, PromptCall
from promptyard.prompts.refs import split_ref
from promptyard.runtime import Runtime


def footer(result: GatewayResult) -> str:
    u = result.usage
    parts = [
        f"{result.provider}/{result.model}",
        f"{u.input_tokens} in / {u.output_tokens} out tokens"
        + (f" ({u.cache_read_tokens} cached)" if u.cache_read_tokens else ""),
        f"${result.cost_usd:.6f}",
        "cache hit" if result.cache_hit else "cache miss",
        f"{result.latency_ms:.0f} ms",
        f"trace {result.trace_id}",
    ]
    if result.prompt:
        parts.insert(0, result.prompt)
    if result.fallback_used:
        parts.append(f"fallback {result.fallback_used}" + (" (degraded)" if result.degraded else ""))
    return " · ".join(parts)


async def _execute(rt: Runtime, call: PromptCall, stream: bool) -> GatewayResult:
    try:
        if not stream:
            return await rt.gateway.run(call)
        gstream = rt.gateway.run_stream(call)
        try:
            async for event in gstream:
                if event.delta:
                    sys.stdout.write(event.delta)
                    sys.stdout.flush()
        finally:
            await gstream.aclose()
        sys.stdout.write("\n")
        if gstream.result is None:
            raise InvalidInput("the stream ended without a result")
        return gstream.result
    finally:
        await rt.aclose()


def run_command(
    ref: Annotated[
        str, typer.Argument(help="NAME@LABEL (summarize_email@production) or NAME@VERSION (summarize_email@1.0.0).")
    ],
    var: Annotated[
        list[str] | None,
        typer.Option("--var", "-v", help="A variable as key=value; repeat for more. Typed per the prompt."),
    ] = None,
    vars_file: Annotated[
        Path | None,
        typer.Option("--vars-file", exists=True, dir_okay=False, help="A JSON object of variables (--var wins)."),
    ] = None,
    no_stream: Annotated[
        bool, typer.Option("--no-stream", help="Wait for the whole answer instead of streaming tokens.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the full result (text, usage, cost, trace id) as JSON.")
    ] = False,
    end_user: Annotated[str | None, typer.Option("--end-user", help="End-user id for rate limits and traces.")] = None,
    bypass_cache: Annotated[bool, typer.Option("--bypass-cache", help="Do not answer from the answer cache.")] = False,
) -> None:
    """Run a prompt through the gateway and stream the answer.

    Prompts with output rules (JSON schema, required sections) print once the answer passed
    validation, so a malformed answer can still be sent back to the model to fix.

    Example: promptyard run summarize_email@production --var email_body="Hi team, ..."
    """
    with handled():
        name, version, label = split_ref(ref)
        if version is None and label is None:
            raise InvalidInput(f"{ref!r} names no version or label", hint=f"use {ref}@production or {ref}@1.0.0")
        rt = runtime()
        spec = rt.registry.resolve(name, version=version, label=label)
        variables = parse_vars(spec, var or [], vars_file)  # the same parsing as 'promptyard prompts render'
        if spec.model.provider == "local":
            from promptyard.providers.local import preflight

            preflight(rt.settings)  # a broken llama.cpp build: a clear error now, not a crash or a timeout
        call = PromptCall(
            name=name,
            version=version,
            label=label,
            variables=variables,
            context=CallContext(end_user=end_user, bypass_cache=bypass_cache),
        )
        # Output rules are checked on the whole answer, and only a non-streamed answer can be
        # fed back to the model to fix: such prompts print when validated instead of streaming.
        rules = spec.output
        checked = bool(rules.json_schema or rules.required_sections or rules.min_tokens or rules.max_tokens)
        stream = not (no_stream or as_json or checked or spec.model.response_format == "json")
        try:
            result = asyncio.run(_execute(rt, call, stream))
        except KeyboardInterrupt:
            err_console.print("[yellow]cancelled[/]")
            raise typer.Exit(130) from None
        if as_json:
            sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        elif not stream:
            sys.stdout.write(result.text + "\n")
        err_console.print(footer(result), style="dim", highlight=False, soft_wrap=True)
