"""promptyard's ASGI app plus an event-loop stall probe (``bench/gateway_overhead.py --probe``).

Every millisecond a task asks the loop to wake it 1 ms later and records how late it woke:
how long the loop could not run, because a callback ran long, a garbage collection ran or
another thread held the GIL. At shutdown the lateness samples (µs) are summarized into
``PROMPTYARD_BENCH_PROBE_OUT`` as JSON, with the garbage collections (count, time per generation)
and the loop thread's run-queue wait and involuntary context switches (Linux schedstat).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import time
from pathlib import Path
from typing import Any

from promptyard.server.asgi import app as promptyard_app

_samples: list[float] = []
_gc: dict[int, list[float]] = {0: [], 1: [], 2: []}
_gc_start = 0.0


def _on_gc(phase: str, info: dict[str, int]) -> None:
    global _gc_start
    if phase == "start":
        _gc_start = time.perf_counter()
    else:
        _gc[info["generation"]].append((time.perf_counter() - _gc_start) * 1e6)


gc.callbacks.append(_on_gc)


def _sched() -> dict[str, float]:
    """This thread's CPU time and run-queue wait (ns, /proc/thread-self/schedstat), and its
    involuntary context switches: how often and how long the OS, not the GIL, held it back."""
    try:
        on_cpu, waiting, _slices = Path("/proc/thread-self/schedstat").read_text().split()
        status = Path("/proc/thread-self/status").read_text()
    except OSError:
        return {}
    forced = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("nonvoluntary"))
    return {"cpu_ms": int(on_cpu) / 1e6, "runqueue_wait_ms": int(waiting) / 1e6, "involuntary_switches": forced}


async def _probe() -> None:
    while True:
        t0 = time.perf_counter()
        await asyncio.sleep(0.001)
        _samples.append((time.perf_counter() - t0 - 0.001) * 1e6)


def summary(samples: list[float]) -> dict[str, Any]:
    s = sorted(samples)
    if not s:
        return {}

    def q(p: float) -> float:
        return round(s[min(len(s) - 1, int(p * len(s)))], 1)

    return {
        "samples": len(s),
        "p50_us": q(0.5),
        "p99_us": q(0.99),
        "p99.9_us": q(0.999),
        "max_us": round(s[-1], 1),
        "over_1ms": sum(1 for v in s if v > 1000),
        "over_5ms": sum(1 for v in s if v > 5000),
    }


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "lifespan":
        await promptyard_app(scope, receive, send)
        return
    task: asyncio.Task[None] | None = None
    sched0: dict[str, float] = {}

    async def wrapped_receive() -> Any:
        nonlocal task
        message = await receive()
        if message["type"] == "lifespan.shutdown" and task is not None:
            task.cancel()
            out = Path(os.environ["PROMPTYARD_BENCH_PROBE_OUT"])
            gcs = {f"gen{g}": {"n": len(v), "total_ms": round(sum(v) / 1000, 1), **summary(v)} for g, v in _gc.items()}
            sched = {k: round(v - sched0.get(k, 0), 1) for k, v in _sched().items()}
            report = {"stalls": summary(_samples), "gc": gcs, "loop_thread": sched}
            await asyncio.to_thread(out.write_text, json.dumps(report))
        return message

    async def wrapped_send(message: Any) -> None:
        nonlocal task
        if message["type"] == "lifespan.startup.complete":
            sched0.update(_sched())
            task = asyncio.create_task(_probe())
        await send(message)

    await promptyard_app(scope, wrapped_receive, wrapped_send)
