"""The canary controller: starts, stops and advances canaries; runs in the server.

``tick()`` is one pass: take (or renew) the ``canary-controller`` lease, then for every
running canary read the current step's traces, evaluate (:func:`canary.evaluate`) and
widen, promote or roll back. Everything it needs is in the database (the experiment row's
``config``), so a restarted server, or another instance taking over an expired lease,
resumes where the last one stopped. The clock (holds, lease) and the wall clock (which
traces belong to a step) are injectable, so tests advance time without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from promptyard.errors import ExperimentError, InvalidInput, NotFound
from promptyard.experiments.canary import CanarySpec, CanaryState, Evaluation, StepRecord, describe, evaluate, state_of
from promptyard.experiments.lease import Lease
from promptyard.experiments.model import Experiment, ExperimentSpec
from promptyard.experiments.samples import load_samples
from promptyard.experiments.store import arms_text

if TYPE_CHECKING:
    from promptyard.experiments.service import Experiments
    from promptyard.runtime import Runtime

log = logging.getLogger("promptyard.canary")


@dataclass(slots=True)
class ControllerStats:
    """The background controller's passes, on ``/metrics`` as ``promptyard_canary_<counter>_total``."""

    ticks: int = 0
    tick_errors: int = 0
    """Passes that raised (the database down, a bug): logged with the traceback; the pass changed nothing."""

    def snapshot(self) -> dict[str, int]:
        return asdict(self)


STATS = ControllerStats()
LEASE_NAME = "canary-controller"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class CanaryAlert(BaseModel):
    canary: str
    prompt: str
    label: str
    from_version: str
    to_version: str
    reason: str
    at: datetime


class Alerter:
    """A WARNING log line, a line in ``alerts.log``, and an optional webhook POST (JSON)."""

    def __init__(
        self,
        *,
        log_path: Path | None = None,
        webhook_url: str | None = None,
        post: Callable[[str, dict[str, object]], object] | None = None,
    ) -> None:
        self.log_path = log_path
        self.webhook_url = webhook_url
        self._post = post or _post_json

    def __call__(self, alert: CanaryAlert) -> None:
        line = (
            f"canary {alert.canary} rolled back {alert.prompt}:{alert.label} "
            f"{alert.from_version} -> {alert.to_version}: {alert.reason}"
        )
        log.warning(line)
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(f"{alert.at.isoformat()} WARN {line}\n")
        if self.webhook_url:
            try:
                self._post(self.webhook_url, alert.model_dump(mode="json"))
            except Exception as exc:  # noqa: BLE001 - a failing webhook never stops the rollback
                log.warning("canary webhook %s failed: %s", self.webhook_url, exc)


def _post_json(url: str, body: dict[str, object]) -> object:
    import httpx

    return httpx.post(url, json=body, timeout=5.0).raise_for_status()


class CanaryStatus(BaseModel):
    experiment: Experiment
    state: CanaryState
    evaluation: Evaluation | None = None
    """The current step's read-out (running canaries only)."""


class Canaries:
    def __init__(
        self,
        experiments: Experiments,
        *,
        alert: Callable[[CanaryAlert], None] | None = None,
        clock: Clock = utc_now,
        wall: Clock = utc_now,
        lease_s: float = 60.0,
        holder: str | None = None,
    ) -> None:
        self.experiments = experiments
        self.alert = alert if alert is not None else Alerter()
        self.clock = clock
        self.wall = wall
        holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = Lease(experiments.db, LEASE_NAME, holder, ttl_s=lease_s)

    # ---- commands -----------------------------------------------------------------------------
    def start(self, spec: CanarySpec, *, actor: str) -> Experiment:
        """Put ``spec.to`` on the first step's share of ``spec.label``; the controller does the rest."""
        registry = self.experiments.registry
        baseline = registry.label(spec.prompt, spec.label).version
        if baseline == spec.to:
            raise InvalidInput(f"{spec.prompt}:{spec.label} already points at {spec.to}")
        self.experiments.check_gate(spec.prompt, spec.label, spec.to, baseline)
        now, wall = self.clock(), self.wall()
        state = CanaryState(
            baseline=baseline,
            target=spec.to,
            steps=spec.steps,
            hold_s=spec.hold_s,
            thresholds=spec.thresholds,
            step_started_at=now,
            window_from=wall,
            history=[StepRecord(step=0, percent=spec.steps[0], started_at=now)],
        )
        name = spec.name or f"canary-{spec.prompt}-{spec.to}-{wall:%Y%m%d%H%M%S}"
        exp_spec = ExperimentSpec(
            name=name,
            prompt=spec.prompt,
            label=spec.label,
            arms=state.arms(),
            unit=spec.unit,
            primary=spec.thresholds.quality,
            guardrails=["error_rate", "p95_latency", "cost"],
            min_samples=spec.thresholds.min_samples,
        )
        experiment = self.experiments.store.create(
            exp_spec, kind="canary", actor=actor, config=state.model_dump(mode="json")
        )
        self.experiments.splits.invalidate()
        return experiment

    def stop(self, name: str, *, actor: str, reason: str | None = None) -> Experiment:
        experiment = self._canary(name)
        name = experiment.name
        state = state_of(experiment)
        self._close_step(state, "stopped", reason or "stopped")
        done = self.experiments.store.end(
            name,
            "stopped",
            actor=actor,
            reason=reason or "stopped by hand",
            action="canary_rollback",
            from_version=state.target,
            to_version=state.baseline,
            config=state.model_dump(mode="json"),
        )
        self.experiments.splits.invalidate()
        return done

    def status(self, name: str) -> CanaryStatus:
        """A canary by name, or the latest canary of a prompt."""
        experiment = self._canary(name)
        name = experiment.name
        state = state_of(experiment)
        evaluation = None
        if experiment.running:
            self.experiments.flush()
            samples = load_samples(self.experiments.db, name, since=state.window_from)
            evaluation = evaluate(state, samples, now=self.clock())
        return CanaryStatus(experiment=experiment, state=state, evaluation=evaluation)

    # ---- the controller ------------------------------------------------------------------------
    def tick(self) -> list[str]:
        """One pass over the running canaries, if this instance holds the lease. Returns what it did."""
        running = [e for e in self.experiments.store.list_all(status="running") if e.kind == "canary"]
        if not running or not self.lease.acquire(self.clock()):
            return []  # nothing to control (no write then), or another instance controls
        done: list[str] = []
        self.experiments.flush()
        running = [e for e in self.experiments.store.list_all(status="running") if e.kind == "canary"]  # fresh
        for experiment in running:
            try:
                done.append(self._advance(experiment))
            except ExperimentError as exc:  # stopped by hand between the read and the write
                log.info("canary %s: %s", experiment.name, exc)
        return done

    def _advance(self, experiment: Experiment) -> str:
        state = state_of(experiment)
        samples = load_samples(self.experiments.db, experiment.name, since=state.window_from)
        now = self.clock()
        ev = evaluate(state, samples, now=now)
        record = state.history[-1]
        record.canary_n, record.baseline_n = ev.canary.n, ev.baseline.n
        if ev.verdict == "wait":
            self.experiments.store.update_config(experiment.name, state.model_dump(mode="json"))
            return f"{experiment.name}: {describe(state)} waiting ({ev.canary.n} canary calls)"
        if ev.verdict == "rollback":
            return self._rollback(experiment, state, "; ".join(ev.reasons))
        return self._widen(experiment, state, ev)

    def _rollback(self, experiment: Experiment, state: CanaryState, why: str) -> str:
        reason = f"canary {experiment.name} {describe(state)}: {why}"
        self._close_step(state, "rolled_back", why)
        self.experiments.store.end(
            experiment.name,
            "rolled_back",
            actor="canary-controller",
            reason=reason,
            action="canary_rollback",
            from_version=state.target,
            to_version=state.baseline,
            config=state.model_dump(mode="json"),
        )
        self.experiments.splits.invalidate()
        self.alert(
            CanaryAlert(
                canary=experiment.name,
                prompt=experiment.prompt,
                label=experiment.label,
                from_version=state.target,
                to_version=state.baseline,
                reason=reason,
                at=self.wall(),
            )
        )
        return f"{experiment.name}: rolled back ({why})"

    def _widen(self, experiment: Experiment, state: CanaryState, ev: Evaluation) -> str:
        self._close_step(state, "widened", f"canary {ev.canary.n} calls, baseline {ev.baseline.n}: within limits")
        if state.step + 1 < len(state.steps):
            state.step += 1
            now, wall = self.clock(), self.wall()
            state.step_started_at, state.window_from = now, wall
            state.history.append(StepRecord(step=state.step, percent=state.percent, started_at=now))
        if state.percent >= 100:
            self._close_step(state, "promoted", "all steps passed")
            reason = f"canary {experiment.name}: all steps passed"
            self.experiments.registry.set_label(
                experiment.prompt,
                experiment.label,
                state.target,
                actor="canary-controller",
                reason=reason,
                action="promote",
            )
            self.experiments.store.end(
                experiment.name,
                "promoted",
                actor="canary-controller",
                reason=reason,
                to_version=state.target,
                config=state.model_dump(mode="json"),
            )
            self.experiments.splits.invalidate()
            return f"{experiment.name}: promoted {state.target}"
        self.experiments.store.reweight(
            experiment.name,
            state.arms(),
            actor="canary-controller",
            reason=f"canary {experiment.name} {describe(state)}: {arms_text(state.arms())}",
            config=state.model_dump(mode="json"),
        )
        self.experiments.splits.invalidate()
        return f"{experiment.name}: widened to {state.percent:g}%"

    def _close_step(self, state: CanaryState, outcome: str, detail: str) -> None:
        record = state.history[-1]
        if record.outcome == "running":
            record.outcome = outcome  # type: ignore[assignment]
            record.ended_at = self.clock()
            record.detail = detail

    def _canary(self, name: str) -> Experiment:
        """By name, or the latest canary of the prompt ``name``."""
        try:
            experiment = self.experiments.store.get(name)
        except NotFound:
            latest = [e for e in self.experiments.store.list_all(prompt=name) if e.kind == "canary"]
            if not latest:
                raise
            experiment = latest[-1]
        if experiment.kind != "canary":
            raise InvalidInput(f"{name!r} is an A/B experiment, not a canary", hint="use 'promptyard experiments'")
        return experiment


def start_controller(runtime: Runtime) -> Callable[[], Awaitable[None]]:
    """Run ``tick()`` every ``PROMPTYARD_CANARY_TICK_S`` in the background; returns the stopper."""
    canaries = runtime.experiments.canaries
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            try:
                for line in await asyncio.to_thread(canaries.tick):
                    log.info(line)
                STATS.ticks += 1
            except Exception:
                STATS.tick_errors += 1
                log.exception("canary controller tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), runtime.settings.canary_tick_s)

    task = asyncio.create_task(loop(), name="canary-controller")

    async def stopper() -> None:
        stop.set()
        await task
        await asyncio.to_thread(canaries.lease.release)

    return stopper
