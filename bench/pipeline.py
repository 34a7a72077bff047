"""Per-call overhead of the gateway pipeline, in process, with an instant fake provider.

Everything is on, as in production: the real prompt registry (SQLite) and renderer, the
in-process answer cache, rate limits per API key and end user, the daily budget with
spend persisted in batches, cost from the shipped price table, and tracing through the
background trace writer with its default sinks (JSONL + SQL). The provider answers at
once from a prebuilt response, so what is measured is the pipeline itself.

    .venv/bin/python bench/pipeline.py [--n 20000] [--tracer writer|build|off] [--rate 0]

Prints p50/p99 per call for: the bare provider call, a prompt run (cache miss and hit)
and a chat call (cache miss and hit); the overhead is the pipeline minus the bare call.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from promptyard import plugins
from promptyard.chat import ChatMessage
from promptyard.gateway.base import CallContext, ChatCall, PromptCall
from promptyard.providers.base import CompletionRequest, CompletionResponse, StreamEvent, Usage
from promptyard.runtime import Runtime
from promptyard.settings import Settings
from promptyard.tracing.model import Trace

PROMPT = """---
name: summarize
version: 1.0.0
model:
  provider: openai
  model: gpt-4o-mini
variables:
  email_body: {type: string, untrusted: true}
---
[system]
You summarize emails in one sentence.

[cache-breakpoint]

[user]
Summarize this email:
{{ email_body }}
"""


class InstantProvider:
    """Answers at once with a prebuilt response (so only the pipeline is measured)."""

    name = "openai"

    def __init__(self) -> None:
        self.response = CompletionResponse(
            text="The sender asks to move the meeting to Friday.",
            usage=Usage(input_tokens=60, output_tokens=12),
            provider="openai",
            model="gpt-4o-mini",
            request_id="req-1",
        )
        self.calls = 0

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        self.calls += 1
        return self.response

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        yield StreamEvent(delta=self.response.text)
        yield StreamEvent(finish_reason="stop", usage=self.response.usage)

    async def aclose(self) -> None:
        return None


class CountingRecorder:
    """Receives every trace the gateway builds and drops it (the request-path cost alone)."""

    def __init__(self) -> None:
        self.count = 0

    def record(self, trace: Trace) -> None:
        self.count += 1


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def timed(fn: Callable[[int], Awaitable[object]], n: int, rate: float = 0.0) -> list[float]:
    """Per-call latency in µs. ``rate`` > 0 paces the calls (open loop), like requests arriving."""
    samples = []
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    for i in range(n):
        if rate:
            next_at += 1.0 / rate
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        t0 = time.perf_counter_ns()
        await fn(i)
        samples.append((time.perf_counter_ns() - t0) / 1000.0)
    return samples


async def main(n: int, tracer: str, rate: float) -> None:
    logging.basicConfig(level=logging.ERROR)
    provider = InstantProvider()
    plugins.register("promptyard.providers", "openai", lambda _settings: provider)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "prompts" / "summarize").mkdir(parents=True)
        (home / "prompts" / "summarize" / "1.0.0.prompt").write_text(PROMPT)
        settings = Settings(
            home=home / "data",
            prompts_dir=home / "prompts",
            cache_max_entries=4 * n + 10_000,
            rate_limit_key_rpm=10**9,
            rate_limit_key_tpm=10**12,
            rate_limit_user_rpm=10**9,
            daily_budget_usd=10**9,
            tracing=tracer != "off",
        )
        rt = Runtime(settings)
        if tracer == "build":
            rt.__dict__["tracer"] = CountingRecorder()
        rt.registry.sync(home / "prompts", actor="bench")
        rt.registry.set_label("summarize", "production", "1.0.0", actor="bench")
        gw = rt.gateway
        ctx = CallContext(api_key_id="key_bench", end_user="user-1")
        body = "Hi team,\n\nCan we move Thursday's review to Friday at 10?\n\nThanks, Ada"
        request = CompletionRequest(model="gpt-4o-mini", messages=[ChatMessage(role="user", content=body)])

        async def bare(_i: int) -> object:
            return await provider.complete(request)

        async def run_miss(i: int) -> object:
            return await gw.run(
                PromptCall(name="summarize", label="production", variables={"email_body": f"{body} #{i}"}, context=ctx)
            )

        async def run_hit(_i: int) -> object:
            return await gw.run(
                PromptCall(name="summarize", label="production", variables={"email_body": body}, context=ctx)
            )

        async def chat_miss(i: int) -> object:
            msgs = [ChatMessage(role="user", content=f"{body} #{i}")]
            return await gw.chat(ChatCall(model="openai/gpt-4o-mini", messages=msgs, context=ctx))

        async def chat_hit(_i: int) -> object:
            msgs = [ChatMessage(role="user", content=body)]
            return await gw.chat(ChatCall(model="openai/gpt-4o-mini", messages=msgs, context=ctx))

        cases: list[tuple[str, Callable[[int], Awaitable[object]]]] = [
            ("bare provider call", bare),
            ("run: cache miss", run_miss),
            ("run: cache hit", run_hit),
            ("chat: cache miss", chat_miss),
            ("chat: cache hit", chat_hit),
        ]
        results: dict[str, list[float]] = {}
        for _name, fn in cases:  # warm-up: imports, compiled templates, caches
            await timed(lambda i, fn=fn: fn(i + 10**7), 500)
        for name, fn in cases:
            results[name] = await timed(fn, n, rate)
        base = statistics.median(results["bare provider call"])
        pacing = f"{rate:g} calls/s" if rate else "back to back"
        print(f"pipeline overhead per call, n={n}, tracer={tracer}, {pacing} (cost, budget, rate limits on; µs)")
        print(f"{'case':<22}{'p50':>9}{'p99':>9}{'p50 overhead':>15}")
        for name, samples in results.items():
            p50, p99 = pct(samples, 0.50), pct(samples, 0.99)
            extra = "" if name.startswith("bare") else f"{p50 - base:>15.1f}"
            print(f"{name:<22}{p50:>9.1f}{p99:>9.1f}{extra}")
        writer = rt.tracer
        await rt.aclose()
        stats = getattr(writer, "stats", None)
        print(f"provider calls: {provider.calls}; gateway counters: {gw.stats.snapshot()['cache_hits']} hits")
        if callable(stats):
            print(f"trace writer: {stats()}")
    plugins.unregister("promptyard.providers", "openai")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000, help="calls per case (default 20000)")
    parser.add_argument(
        "--tracer",
        choices=["writer", "build", "off"],
        default="writer",
        help="writer: the runtime's background trace writer and sinks (default); build: every trace is "
        "built and handed to a recorder that drops it (the request-path cost alone); off: PROMPTYARD_TRACING=false",
    )
    parser.add_argument(
        "--rate", type=float, default=0.0, help="pace calls at this many per second (default 0: back to back)"
    )
    args = parser.parse_args()
    asyncio.run(main(args.n, args.tracer, args.rate))
