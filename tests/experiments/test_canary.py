"""Canary with automatic rollback: a failing 1.1.0 rolls back within its first step (label,
audit and alert say why), a healthy one reaches 100 %; the lease allows one controller; a
restarted controller resumes; the server runs it in the background. No sleeping: the
controller's clock is injected."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from promptyard.errors import PromptyardError
from promptyard.experiments.canary import CanarySpec, CanaryThresholds
from promptyard.experiments.canary_controller import Alerter, Canaries, CanaryAlert, start_controller
from promptyard.gateway.base import CallContext, PromptCall
from promptyard.runtime import Runtime
from promptyard.testing import FakeProvider
from tests.experiments.conftest import make_runtime


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


class Alerts(list[CanaryAlert]):
    def __init__(self, log_path: Path) -> None:
        super().__init__()
        self.alerter = Alerter(log_path=log_path)

    def __call__(self, alert: CanaryAlert) -> None:
        self.append(alert)
        self.alerter(alert)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def alerts(tmp_path: Path) -> Alerts:
    return Alerts(tmp_path / "alerts.log")


def controller(rt: Runtime, clock: Clock, alerts: Alerts, holder: str = "a", lease_s: float = 60) -> Canaries:
    return Canaries(rt.experiments, alert=alerts, clock=clock, lease_s=lease_s, holder=holder)


SPEC = CanarySpec(prompt="greet", to="1.1.0", steps=[5, 25, 50, 100], hold_s=900, name="can")


async def traffic(rt: Runtime, n: int, start: int = 0) -> dict[str, int]:
    """``n`` users call once each; returns calls per version."""
    seen = {"1.0.0": 0, "1.1.0": 0}
    for i in range(start, start + n):
        call = PromptCall(
            name="greet", label="production", variables={"who": f"u{i}"}, context=CallContext(end_user=f"user-{i}")
        )
        try:
            result = await rt.gateway.run(call)
            seen[(result.prompt or "").split("@")[1]] += 1
        except PromptyardError:
            seen["1.1.0"] += 1  # only the canary's model fails here
    return seen


async def test_a_canary_failing_20_percent_rolls_back_within_one_step(
    runtime: Runtime, fake: FakeProvider, clock: Clock, alerts: Alerts, tmp_path: Path
) -> None:
    fake.fail_share(0.2, model="model-b")
    canaries = controller(runtime, clock, alerts)
    canaries.start(SPEC, actor="ops")
    seen = await traffic(runtime, 800)
    assert seen["1.1.0"] >= 20  # ~5 % of 800 users
    did = canaries.tick()
    assert did == [did[0]]
    assert "rolled back" in did[0]
    assert "error rate" in did[0]

    assert runtime.registry.label("greet", "production").version == "1.0.0"
    status = canaries.status("can")
    assert status.experiment.status == "rolled_back"
    assert [h.outcome for h in status.state.history] == ["rolled_back"]  # within the first step
    after = await traffic(runtime, 200, start=1000)
    assert after == {"1.0.0": 200, "1.1.0": 0}  # everyone is back on 1.0.0 at once

    last = [e for e in runtime.registry.history("greet") if e.kind == "label"][-1]
    assert (last.action, last.from_version, last.to_version, last.actor) == (  # type: ignore[union-attr]
        "canary_rollback",
        "1.1.0",
        "1.0.0",
        "canary-controller",
    )
    assert "error rate 19.6% vs 0.0% on the baseline" in (last.reason or "")  # type: ignore[union-attr]
    assert "step 1/4 (5% on 1.1.0)" in (last.reason or "")  # type: ignore[union-attr]
    assert len(alerts) == 1
    assert "error rate" in alerts[0].reason
    logged = (tmp_path / "alerts.log").read_text()
    assert "WARN canary can rolled back greet:production 1.1.0 -> 1.0.0: " in logged
    assert "error rate" in logged


async def test_a_healthy_canary_widens_step_by_step_to_100_percent(
    runtime: Runtime, clock: Clock, alerts: Alerts
) -> None:
    canaries = controller(runtime, clock, alerts)
    canaries.start(SPEC, actor="ops")
    users = 0
    for expected in ("widened to 25%", "widened to 50%", "promoted 1.1.0"):
        await traffic(runtime, 600, start=users)
        users += 600
        assert "waiting" in canaries.tick()[0]  # the hold has not passed yet
        clock.advance(minutes=15)
        assert expected in canaries.tick()[0]
    assert runtime.registry.label("greet", "production").version == "1.1.0"
    state = canaries.status("can").state
    assert [(h.percent, h.outcome) for h in state.history] == [
        (5, "widened"),
        (25, "widened"),
        (50, "widened"),
        (100, "promoted"),
    ]
    assert all(h.canary_n >= 20 for h in state.history[:3])
    actions = [e.action for e in runtime.registry.history("greet") if e.kind == "label"]  # type: ignore[union-attr]
    assert actions == ["set", "split", "canary_step", "canary_step", "promote", "split_end"]
    assert alerts == []


async def test_one_controller_holds_the_lease_and_a_restarted_one_resumes(
    runtime: Runtime, clock: Clock, alerts: Alerts, tmp_path: Path, sqlite_url: str
) -> None:
    first = controller(runtime, clock, alerts, holder="a", lease_s=60)
    second = controller(runtime, clock, alerts, holder="b", lease_s=60)
    first.start(SPEC, actor="ops")
    await traffic(runtime, 600)
    assert "waiting" in first.tick()[0]  # a takes the lease
    assert second.tick() == []  # b: the lease is held and fresh, b does nothing
    clock.advance(minutes=15)
    assert "widened to 25%" in first.tick()[0]  # a renews it
    assert second.tick() == []
    assert first.lease.holder_now() == "a"
    await runtime.aclose()

    rt2 = make_runtime(tmp_path, sqlite_url)  # a restart: the state comes from the database
    clock.advance(seconds=61)  # the old holder is gone: its lease expires
    resumed = controller(rt2, clock, alerts, holder="c")
    assert resumed.status("can").state.percent == 25
    await traffic(rt2, 600, start=5000)
    clock.advance(minutes=15)
    assert "widened to 50%" in resumed.tick()[0]
    assert resumed.lease.holder_now() == "c"
    await rt2.aclose()


async def test_the_server_runs_the_controller_in_the_background(
    tmp_path: Path, sqlite_url: str, fake: FakeProvider, runtime: Runtime
) -> None:
    fake.fail_share(0.5, model="model-b")
    rt = make_runtime(tmp_path, sqlite_url, canary_tick_s=0.05)
    rt.experiments.canaries.start(SPEC.model_copy(update={"name": "bg"}), actor="ops")
    await traffic(rt, 800)
    stop = start_controller(rt)
    try:
        for _ in range(200):
            if rt.experiments.get("bg").status != "running":
                break
            await asyncio.sleep(0.05)
    finally:
        await stop()
    assert rt.experiments.get("bg").status == "rolled_back"
    assert rt.experiments.canaries.lease.holder_now() is None  # released on shutdown
    await rt.aclose()


def test_thresholds_and_steps_are_validated() -> None:
    with pytest.raises(PromptyardError, match="increasing"):
        CanarySpec(prompt="p", to="2", steps=[50, 25])
    assert CanarySpec(prompt="p", to="2", steps=[10, 50]).steps == [10, 50, 100]
    with pytest.raises(PromptyardError, match="unknown metric"):
        CanaryThresholds(quality="vibes")


async def test_cli_start_status_stop(runtime: Runtime) -> None:
    from typer.testing import CliRunner

    from promptyard.cli.main import app as cli

    runner = CliRunner()
    out = runner.invoke(
        cli, ["canary", "start", "greet", "--to", "1.1.0", "--steps", "10,50", "--hold", "2m", "--name", "c1"]
    )
    assert out.exit_code == 0, out.stderr
    assert "10% on 1.1.0; steps 10,50,100, hold 2m" in out.stdout
    await traffic(runtime, 100)
    out = runner.invoke(cli, ["canary", "status", "greet"])  # the prompt's latest canary
    assert out.exit_code == 0, out.stderr
    assert "running" in out.stdout
    assert "-> wait" in out.stdout
    out = runner.invoke(cli, ["canary", "stop", "c1", "--reason", "not today"])
    assert out.exit_code == 0, out.stderr
    assert runtime.experiments.get("c1").status == "stopped"
    out = runner.invoke(cli, ["canary", "start", "greet", "--to", "1.0.0"])
    assert out.exit_code == 1
    assert "already points at 1.0.0" in out.stderr


def _samples(arm: str, n: int, *, ms: float = 100, cost: float = 0.001, errors: int = 0, up: float = 0.8) -> list:
    from promptyard.experiments.samples import Sample

    return [
        Sample(
            trace_id=f"{arm}{i}",
            ts=datetime(2026, 1, 1, tzinfo=UTC),
            arm=arm,
            unit=None,
            status="error" if i < errors else "ok",
            total_ms=ms,
            cost_usd=cost,
            thumbs=i < up * n,
        )
        for i in range(n)
    ]


def test_each_threshold_triggers_a_rollback_and_holds_widen_only_when_met() -> None:
    from promptyard.experiments.canary import CanaryState, evaluate

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    state = CanaryState(
        baseline="1.0.0",
        target="1.1.0",
        steps=[5, 100],
        hold_s=900,
        thresholds=CanaryThresholds(),
        step_started_at=t0,
        window_from=t0,
    )
    base = _samples("1.0.0", 400)
    later = t0 + timedelta(minutes=16)
    assert evaluate(state, base + _samples("1.1.0", 40), now=t0).verdict == "wait"  # hold not passed
    assert evaluate(state, base + _samples("1.1.0", 10), now=later).verdict == "wait"  # too few calls
    assert evaluate(state, base + _samples("1.1.0", 40), now=later).verdict == "widen"
    cases = {
        "error rate": _samples("1.1.0", 40, errors=4),
        "p95 latency": _samples("1.1.0", 40, ms=400),
        "cost per call": _samples("1.1.0", 40, cost=0.002),
        "feedback.thumbs_up": _samples("1.1.0", 40, up=0.5),
    }
    for what, canary in cases.items():
        ev = evaluate(state, base + canary, now=t0)
        assert ev.verdict == "rollback", what
        assert what in ev.reasons[0]
    slow_but_tiny = evaluate(state, _samples("1.0.0", 400, ms=2) + _samples("1.1.0", 40, ms=6), now=later)
    assert slow_but_tiny.verdict == "widen"  # 3x of 2 ms is within the 50 ms slack


def test_the_alert_posts_to_the_webhook_and_survives_its_failure(tmp_path: Path) -> None:
    posted: list[tuple[str, dict[str, object]]] = []
    alert = CanaryAlert(
        canary="c", prompt="p", label="production", from_version="2", to_version="1", reason="error rate", at=Clock()()
    )
    Alerter(webhook_url="http://hooks.test/x", post=lambda url, body: posted.append((url, body)))(alert)
    assert posted == [("http://hooks.test/x", alert.model_dump(mode="json"))]

    def broken(url: str, body: dict[str, object]) -> object:
        raise OSError("connection refused")

    Alerter(log_path=tmp_path / "a.log", webhook_url="http://hooks.test/x", post=broken)(alert)  # no raise
    assert "rolled back p:production 2 -> 1: error rate" in (tmp_path / "a.log").read_text()


async def test_a_failing_controller_pass_is_counted_and_the_loop_goes_on(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from promptyard.experiments import canary_controller

    rt = make_runtime(tmp_path, sqlite_url, canary_tick_s=0.01)
    calls: list[int] = []

    def broken_tick() -> list[str]:
        calls.append(1)
        raise RuntimeError("database gone")

    monkeypatch.setattr(rt.experiments.canaries, "tick", broken_tick)
    before = canary_controller.STATS.tick_errors
    stop = start_controller(rt)
    try:
        for _ in range(500):
            if len(calls) >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        await stop()
    assert len(calls) >= 3  # a failing pass does not stop the controller
    assert canary_controller.STATS.tick_errors - before == len(calls)
    await rt.aclose()
