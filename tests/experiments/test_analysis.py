"""The experiment read-out: the analysis agrees with the stats core, and the CLI drives it end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from promptyard.cli.main import app as cli
from promptyard.experiments.analysis import analyze
from promptyard.experiments.model import Arm, Experiment
from promptyard.experiments.samples import Sample
from promptyard.experiments.stats import plan_samples, sequential_p_values_rates
from promptyard.gateway.base import CallContext, PromptCall
from promptyard.runtime import Runtime
from promptyard.server.app import create_app
from promptyard.store.tables.experiments import FeedbackRow

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def experiment(primary: str = "feedback.thumbs_up", min_samples: int = 0) -> Experiment:
    return Experiment(
        id=1,
        name="sim",
        kind="ab",
        prompt="p",
        label="production",
        arms=[Arm(version="a", weight=50), Arm(version="b", weight=50)],
        unit="user",
        primary=primary,
        guardrails=["error_rate", "p95_latency"],
        min_samples=min_samples,
        status="running",
        created_by="t",
        created_at=T0,
    )


def simulate(rng: np.random.Generator, p_a: float, p_b: float, n: int) -> list[Sample]:
    arms = np.where(rng.random(2 * n) < 0.5, "a", "b")
    out = []
    for i, arm in enumerate(arms):
        up = rng.random() < (p_a if arm == "a" else p_b)
        out.append(
            Sample(
                trace_id=f"t{i}",
                ts=T0 + timedelta(seconds=i),
                arm=str(arm),
                unit=f"u{i}",
                status="ok",
                total_ms=100 + 20 * rng.random() + (10 if arm == "b" else 0),
                cost_usd=0.001,
                thumbs=bool(up),
                segment="big" if i % 3 else "small",
            )
        )
    return out


def test_the_always_valid_p_value_is_the_running_minimum_of_the_stats_core() -> None:
    rng = np.random.default_rng(3)
    samples = simulate(rng, 0.5, 0.56, 1500)
    result = analyze(experiment(), samples, segment_field="segment")
    is_b = np.array([s.arm == "b" for s in samples])
    up = np.array([bool(s.thumbs) for s in samples])
    p = sequential_p_values_rates(np.cumsum(up & ~is_b), np.cumsum(~is_b), np.cumsum(up & is_b), np.cumsum(is_b))
    primary = next(d for d in result.diffs if d.metric == "feedback.thumbs_up")
    assert primary.sequential_p == pytest.approx(float(p[-1]))
    assert primary.test.test == "two-proportion z"
    latency = next(d for d in result.diffs if d.metric == "p95_latency")
    assert latency.test.test == "welch t"
    assert latency.worse  # b is 10 ms slower: a guardrail flags it
    assert not result.srm.mismatch
    assert [s.value for s in result.segments] == ["big", "small"]


def test_plus_five_points_is_detected_through_the_analysis_in_80_percent_at_the_planned_size() -> None:
    n = plan_samples(baseline=0.5, effect=0.05).sequential_per_arm
    rng = np.random.default_rng(11)
    sims = 40  # the 200-run simulations of the stats core live in test_stats.py; this checks the wiring
    hits = sum(analyze(experiment(), simulate(rng, 0.5, 0.55, n)).winner == "b" for _ in range(sims))
    assert hits / sims >= 0.7


def test_min_samples_holds_the_verdict_and_srm_flags_a_broken_split() -> None:
    rng = np.random.default_rng(5)
    samples = simulate(rng, 0.3, 0.6, 400)
    assert analyze(experiment(), samples).winner == "b"
    held = analyze(experiment(min_samples=10_000), samples)
    assert held.winner is None
    assert not held.enough_samples
    skewed = [s for s in samples if s.arm == "a" or int(s.trace_id[1:]) % 2]
    assert analyze(experiment(), skewed).srm.mismatch


async def test_cli_start_status_plan_promote(runtime: Runtime) -> None:
    runner = CliRunner()
    args = ["experiments", "start", "cli-ab", "--prompt", "greet", "--arms", "1.0.0=50,1.1.0=50", "--min-samples", "5"]
    out = runner.invoke(cli, args)
    assert out.exit_code == 0, out.stderr
    assert "1.0.0 50%, 1.1.0 50% by user" in out.stdout
    trace_ids: dict[str, list[str]] = {"1.0.0": [], "1.1.0": []}
    for i in range(60):
        call = PromptCall(
            name="greet", label="production", variables={"who": "x"}, context=CallContext(end_user=f"u{i}")
        )
        result = await runtime.gateway.run(call)
        trace_ids[(result.prompt or "").split("@")[1]].append(result.trace_id)
    runtime.experiments.flush()
    with runtime.db.session() as s:
        for version, ids in trace_ids.items():
            for tid in ids:
                s.add(FeedbackRow(trace_id=tid, thumbs=version == "1.1.0", signals=[], at=T0))
    out = runner.invoke(cli, ["experiments", "status", "cli-ab", "--segment", "model"])
    assert out.exit_code == 0, out.stderr
    assert "winner 1.1.0" in out.stdout
    assert "model-a" in out.stdout
    data = json.loads(runner.invoke(cli, ["experiments", "status", "cli-ab", "--json"]).stdout)
    assert data["winner"] == "1.1.0"
    out = runner.invoke(cli, ["experiments", "plan", "--baseline", "0.5", "--effect", "0.05"])
    assert out.exit_code == 0
    assert "1565 per arm for a fixed-horizon" in out.stdout.replace("\n", " ")
    out = runner.invoke(cli, ["experiments", "promote", "cli-ab"])
    assert out.exit_code == 0, out.stderr
    assert "1.0.0 -> 1.1.0" in out.stdout
    out = runner.invoke(cli, ["experiments", "stop", "cli-ab"])
    assert out.exit_code == 1
    assert "has ended (promoted)" in out.stderr


async def test_http_routes_need_admin_to_change_and_viewer_to_read(runtime: Runtime) -> None:
    app_key = runtime.keys.create("app", "app").secret
    admin = runtime.keys.create("ops", "admin").secret
    body = {
        "name": "http-ab",
        "prompt": "greet",
        "arms": [{"version": "1.0.0", "weight": 1}, {"version": "1.1.0", "weight": 1}],
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime)), base_url="http://t") as c:
        denied = await c.post("/v1/experiments", json=body, headers={"Authorization": f"Bearer {app_key}"})
        assert denied.status_code == 403
        auth = {"Authorization": f"Bearer {admin}"}
        started = await c.post("/v1/experiments", json=body, headers=auth)
        assert started.status_code == 200, started.text
        assert started.json()["created_by"] == "ops"
        again = await c.post("/v1/experiments", json=body | {"name": "other"}, headers=auth)
        assert again.status_code == 409
        status = await c.get("/v1/experiments/http-ab", headers=auth)
        assert status.status_code == 200
        assert status.json()["analysis"]["baseline"] == "1.0.0"
        plan = await c.get("/v1/experiments/plan", params={"baseline": 0.5, "effect": 0.05}, headers=auth)
        assert plan.json()["fixed_per_arm"] == plan_samples(baseline=0.5, effect=0.05).fixed_per_arm
        stopped = await c.post("/v1/experiments/http-ab/stop", json={"reason": "done"}, headers=auth)
        assert stopped.json()["status"] == "stopped"


def test_a_null_difference_is_rarely_significant_through_the_analysis_checked_after_every_sample() -> None:
    n = plan_samples(baseline=0.5, effect=0.05).sequential_per_arm
    rng = np.random.default_rng(12)
    sims = 40
    false_positives = sum(analyze(experiment(), simulate(rng, 0.5, 0.5, n)).significant for _ in range(sims))
    assert false_positives / sims <= 0.05
