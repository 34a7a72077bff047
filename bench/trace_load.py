"""Tracing under load: every request traced exactly once, and what tracing costs per request.

Run:  .venv/bin/python bench/trace_load.py                 (defaults: --requests 10000 --clients 32)

Sends N prompt runs through the real gateway (``runtime.gateway``: render, rate limits, budget,
provider call, trace) against a fast in-process fake upstream (the scripted ``FakeProvider``,
answering at once), from C concurrent clients, with the answer cache off so every request
reaches the provider. It runs the same load twice in one process, tracing off
(``PROMPTYARD_TRACING=false``: the gateway builds no trace) and tracing on (JSONL + SQLite sinks
through the background writer), alternating ``--rounds`` times, then checks that
JSONL lines = SQL rows = requests for every traced round and prints:

* request-path cost of tracing: the time spent inside ``Gateway.trace`` (building the
  ``Trace`` and ``record()``-ing it), measured per request, p50/p99;
* end-to-end latency per request (p50/p99) and throughput, tracing off vs on, and the
  difference at p50 (includes the writer thread competing for the GIL on 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from promptyard import plugins
from promptyard.errors import PromptNotFound
from promptyard.gateway.base import PromptCall
from promptyard.gateway.pipeline import Gateway
from promptyard.prompts.model import MessageBlock, ModelConfig, PromptSpec, VariableSpec
from promptyard.providers.base import Usage
from promptyard.providers.fake import FakeProvider
from promptyard.runtime import Runtime
from promptyard.settings import Settings
from promptyard.store.tables.tracing import TraceRow

SPEC = PromptSpec(
    name="bench",
    version="1.0.0",
    model=ModelConfig(provider="fake", model="fast", temperature=0.0, max_tokens=32),
    variables={"who": VariableSpec(type="string")},
    blocks=[
        MessageBlock(role="system", template="You are a concise assistant."),
        MessageBlock(role="user", template="Say hello to {{ who }}."),
    ],
)


class Prompts:
    def resolve(self, name: str, *, version: str | None = None, label: str | None = None) -> PromptSpec:
        if name != SPEC.name:
            raise PromptNotFound(name)
        return SPEC


class Prices:
    def cost(self, _provider: str, _model: str, usage: Usage) -> float:
        return usage.input_tokens * 1e-7 + usage.output_tokens * 4e-7


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


async def drive(gw: Gateway, requests: int, clients: int, tag: str) -> tuple[list[float], float]:
    latencies: list[float] = []
    counter = iter(range(requests))

    async def client() -> None:
        for i in counter:
            t0 = time.perf_counter()
            await gw.run(PromptCall(name="bench", version="1.0.0", variables={"who": f"{tag}-{i}"}))
            latencies.append((time.perf_counter() - t0) * 1e6)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, time.perf_counter() - start


def cpu_now() -> float:
    """CPU seconds used by this process, all threads (robust to other load on the machine)."""
    return time.process_time()


def instrument(gw: Gateway, into: list[float]) -> None:
    """Time the request-path tracing step (build the trace + record it)."""
    original = gw.trace

    def timed(rec: Any, status: Any, error: BaseException | None = None) -> None:
        t0 = time.perf_counter()
        original(rec, status, error)
        into.append((time.perf_counter() - t0) * 1e6)

    gw.trace = timed  # type: ignore[method-assign]


async def one_round(home: Path, tracing: bool, requests: int, clients: int, tag: str) -> dict[str, Any]:
    settings = Settings(home=home, tracing=tracing, cache_backend="none", trace_queue_size=50_000)
    rt = Runtime(settings)
    rt.__dict__["registry"] = Prompts()
    rt.__dict__["prices"] = Prices()
    gw = rt.gateway
    trace_us: list[float] = []
    instrument(gw, trace_us)
    await drive(gw, 200, clients, f"warm-{tag}")  # warm-up (not counted in timings; traced too)
    cpu0 = cpu_now()
    latencies, wall = await drive(gw, requests, clients, tag)
    stats = rt.tracer.stats() if tracing else None  # type: ignore[attr-defined]
    await asyncio.to_thread(rt.tracer.flush) if tracing else None  # type: ignore[attr-defined]
    cpu = cpu_now() - cpu0  # includes writing every trace of this round
    await rt.aclose()  # flushes the writer
    out: dict[str, Any] = {"latencies": latencies, "wall": wall, "cpu": cpu, "trace_us": trace_us[200:]}
    if tracing:
        lines = sum(1 for p in (home / "traces").glob("*.jsonl") for _ in p.open("rb"))
        with rt.db.session() as s:
            rows = int(s.scalar(select(func.count()).select_from(TraceRow)) or 0)
        out |= {"lines": lines, "rows": rows, "dropped": stats.dropped if stats else {}}
    rt.db.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs, alternating")
    args = parser.parse_args()
    fake = FakeProvider(name="fake")
    plugins.register("promptyard.providers", "fake", lambda _s: fake)
    results: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    ok = True
    with tempfile.TemporaryDirectory(prefix="py-trace-load-") as tmp:
        for r in range(args.rounds):
            for tracing in (False, True) if r % 2 == 0 else (True, False):
                home = Path(tmp) / f"round{r}-{'on' if tracing else 'off'}"
                res = asyncio.run(one_round(home, tracing, args.requests, args.clients, f"r{r}"))
                results[tracing].append(res)
                label = "on " if tracing else "off"
                line = (
                    f"round {r} tracing {label}: {args.requests / res['wall']:,.0f} req/s, "
                    f"p50 {pct(res['latencies'], 0.5):,.0f} µs, p99 {pct(res['latencies'], 0.99):,.0f} µs"
                )
                if tracing:
                    expected = args.requests + 200
                    good = res["lines"] == res["rows"] == expected and not res["dropped"]
                    ok &= good
                    line += (
                        f" | JSONL lines {res['lines']:,} = SQL rows {res['rows']:,} = requests {expected:,}"
                        f" (incl. 200 warm-up): {'OK' if good else 'MISMATCH'}; dropped {res['dropped'] or 0}"
                    )
                print(line, flush=True)

    def med(tracing: bool, fn: Any) -> float:
        return statistics.median(fn(x) for x in results[tracing])

    p50_off, p50_on = med(False, lambda x: pct(x["latencies"], 0.5)), med(True, lambda x: pct(x["latencies"], 0.5))
    per_req_off = med(False, lambda x: x["wall"] / args.requests * 1e6)
    per_req_on = med(True, lambda x: x["wall"] / args.requests * 1e6)
    cpu_off = med(False, lambda x: x["cpu"] / args.requests * 1e6)
    cpu_on = med(True, lambda x: x["cpu"] / args.requests * 1e6)
    trace_step = [v for x in results[True] for v in x["trace_us"]]
    print()
    print(f"requests per round: {args.requests:,} at {args.clients} concurrent clients, {args.rounds} rounds each")
    print(
        f"request-path tracing step (build Trace + record()): p50 {pct(trace_step, 0.5):.1f} µs, "
        f"p99 {pct(trace_step, 0.99):.1f} µs"
    )
    print(
        f"end-to-end p50: off {p50_off:,.0f} µs, on {p50_on:,.0f} µs, added {p50_on - p50_off:+,.0f} µs "
        f"(at {args.clients} concurrent clients a request's latency includes ~{args.clients} others' work)"
    )
    print(
        f"CPU per request (process, all threads): off {cpu_off:.1f} µs, on {cpu_on:.1f} µs, "
        f"added {cpu_on - cpu_off:+.1f} µs (the background writer's JSONL + SQL work included)"
    )
    print(
        f"wall time per request: off {per_req_off:.1f} µs, on {per_req_on:.1f} µs, "
        f"added {per_req_on - per_req_off:+.1f} µs (sensitive to other load on the machine)"
    )
    target = pct(trace_step, 0.5) <= 100
    print(f"target <= 100 µs added at p50 on the request path: {'met' if target else 'MISSED'}")
    print("all traced rounds complete: " + ("yes" if ok else "NO"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
