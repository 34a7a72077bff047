"""What a split on a label costs on the gateway's hot path, and how fast a read-out is.

Usage: ``.venv/bin/python bench/experiment_split.py [--n 100000] [--calls 2000] [--rounds 5] [--traces 20000]``

Syncs the example prompts into a temporary SQLite database, starts a split on
``summarize_email:production`` (1.0.0=100, 1.1.0=0, so both cases render the same version) and times:

* ``SplitTable.assign`` with the split cached (sha256 of experiment id and unit, arm pick);
* full gateway calls by label through the fake provider (answer cache and tracing off),
  without and with the split, in interleaved rounds (best round of each);
* ``experiments status`` (analysis with the always-valid p-value per sample) over
  ``--traces`` stored traces with thumbs feedback on each.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from promptyard.experiments.model import ExperimentSpec, parse_arms
from promptyard.gateway.base import CallContext, PromptCall
from promptyard.runtime import Runtime
from promptyard.settings import load_settings
from promptyard.store.tables.experiments import FeedbackRow
from promptyard.testing import FakeProvider, registered_provider
from promptyard.tracing.model import Trace

REPO = Path(__file__).resolve().parents[1]
VARS = {"email_body": "Hello, the meeting moved to 3pm. Bring the slides."}


def per(n: int, seconds: float) -> str:
    return f"{n / seconds:>10,.0f}/s  ({seconds / n * 1e6:9.1f} µs each)"


async def calls(rt: Runtime, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        ctx = CallContext(end_user=f"user-{i}", bypass_cache=True)
        await rt.gateway.run(PromptCall(name="summarize_email", label="production", variables=VARS, context=ctx))
    return time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="assign() calls")
    parser.add_argument("--calls", type=int, default=2000, help="gateway calls per case")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per case")
    parser.add_argument("--traces", type=int, default=20_000, help="traces for the read-out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, registered_provider(FakeProvider(), name="local"):
        url = f"sqlite:///{tmp}/bench.db"
        rt = Runtime(load_settings(home=Path(tmp), database_url=url, cache_backend="none", tracing=False))
        rt.registry.sync(REPO / "prompts", actor="bench")
        rt.registry.set_label("summarize_email", "production", "1.0.0", actor="bench")
        spec = ExperimentSpec(name="ab", prompt="summarize_email", arms=parse_arms("1.0.0=100,1.1.0=0"))
        rt.experiments.start(spec, actor="bench")  # every call still gets 1.0.0: only the split's cost differs
        splits = rt.experiments.splits
        splits.assign("summarize_email", "production", CallContext(end_user="warm"))
        contexts = [CallContext(end_user=f"user-{i}") for i in range(1000)]
        start = time.perf_counter()
        for i in range(args.n):
            splits.assign("summarize_email", "production", contexts[i % 1000])
        assign_s = time.perf_counter() - start
        gateway = rt.gateway
        await calls(rt, 1000)  # warm up (imports, caches, the event loop)
        base = split = float("inf")
        for _ in range(args.rounds):  # interleaved rounds, best of each: the machine is shared
            gateway.splits = None
            base = min(base, await calls(rt, args.calls))
            gateway.splits = splits
            split = min(split, await calls(rt, args.calls))
        print(f"SplitTable.assign (cached split): {per(args.n, assign_s)}")
        print(f"gateway call, no split:           {per(args.calls, base)}")
        print(f"gateway call, split on the label: {per(args.calls, split)}")
        print(f"split overhead per call:          {(split - base) / args.calls * 1e6:9.1f} µs")
        rt.experiments.stop("ab", actor="bench")
        await rt.aclose()

        rt = Runtime(load_settings(home=Path(tmp) / "t", database_url=url, trace_sinks=["sql"]))
        rt.experiments.start(spec.model_copy(update={"name": "ab2"}), actor="bench")
        for i in range(args.traces):
            arm = "1.0.0" if i % 2 else "1.1.0"  # the read-out does not care what the weights said
            rt.tracer.record(
                Trace(
                    trace_id=f"t{i:08d}",
                    prompt_name="summarize_email",
                    prompt_version=arm,
                    experiment="ab2",
                    experiment_arm=arm,
                    experiment_unit=f"u{i}",
                    latency={"total_ms": 100 + i % 50},
                )
            )
            if i % 5000 == 4999:
                rt.experiments.flush()  # stay under the writer's queue size
        rt.experiments.flush()
        with rt.db.session() as s:
            s.add_all(  # 1.0.0 (odd i) 67 % thumbs up, 1.1.0 50 %
                FeedbackRow(trace_id=f"t{i:08d}", thumbs=(i % 3 != 0) if i % 2 else (i % 4 != 0), signals=[])
                for i in range(args.traces)
            )
        start = time.perf_counter()
        result = rt.experiments.status("ab2")
        took = time.perf_counter() - start
        print(
            f"experiments status over {args.traces:,} traces + feedback: {took * 1000:8.0f} ms "
            f"(always-valid p {result.diffs[0].sequential_p:.3f})"
        )
        await rt.aclose()


if __name__ == "__main__":
    asyncio.run(main())
