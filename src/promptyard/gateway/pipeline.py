"""The gateway: one pipeline for every call, its order written here and only here.

For every call, prompt (``run``) or raw chat (``chat``), streaming or not:

1. resolve the prompt (name plus version or label; served from the registry's memory cache;
   a split on the label picks the version per unit, see ``experiments/splits.py``)
2. validate and sanitize the variables
3. render (stable prefix first, cache breakpoints marked)
3a. input guards: block, redact (placeholders) or flag; ``parallel`` ones run beside 4-10 (guarding.py)
4. answer-cache lookup (a fresh hit answers here)
5. rate limits (per API key and per end user) and the budget check
6. provider call with a timeout                                      ┐
7. retries: exponential backoff with full jitter, honouring Retry-After │ engine.py, single-flight:
8. the prompt's fallback chain (or a stale cached answer when rate-limited) │ identical concurrent
9. output validation, feeding the problems back to the model (capped)  │ requests share one call
10. answer-cache store (valid, non-degraded answers only)             ┘
10a. output guards (leak canary, PII, topics) on the answer, also a cached one; restore placeholders
11. record spend (budget thresholds) and correct the token buckets
12. one trace, whatever happened (ok, error, cancelled)
13. the result

Steps 1-3 run synchronously when the call is made, so a bad prompt reference, bad
variables or an unknown model fail at once, also for streams.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from promptyard.errors import ConfigError, DependencyUnavailable, RateLimited, RateLimitExceeded
from promptyard.experiments.model import Assignment
from promptyard.gateway.base import CallContext, ChatCall, GatewayAPI, GatewayResult, GatewayStream, PromptCall
from promptyard.gateway.budget import BudgetTracker, estimate_cost
from promptyard.gateway.caches.base import AnswerCache, CachedAnswer
from promptyard.gateway.engine import CallState, CostFn, Generated, ProviderCaller, ProviderSource
from promptyard.gateway.guarding import GuardStep
from promptyard.gateway.plan import Plan, Planner
from promptyard.gateway.ratelimit.base import Bucket, RateLimiter
from promptyard.gateway.ratelimit.memory import MemoryRateLimiter
from promptyard.gateway.ratelimit.policy import LimitPolicy
from promptyard.gateway.records import CallRecord, build_result, build_trace
from promptyard.gateway.retry import RetryPolicy, Sleep
from promptyard.gateway.singleflight import SingleFlight
from promptyard.gateway.stats import GatewayStats
from promptyard.gateway.streaming import PipelineStream
from promptyard.guards.runner import GuardRunner
from promptyard.prompts.model import PromptSpec
from promptyard.providers.base import Usage
from promptyard.settings import Settings
from promptyard.tracing.model import NullRecorder, TraceKind, TraceRecorder, TraceStatus, new_trace_id

log = logging.getLogger("promptyard.gateway")


class PromptSource(Protocol):
    """Resolves a prompt reference (``PromptRegistry.resolve``)."""

    def resolve(self, name: str, *, version: str | None = None, label: str | None = None) -> PromptSpec: ...


class SplitSource(Protocol):
    """Weighted splits on labels (``experiments.splits.SplitTable``): the arm for a call, or None."""

    def assign(self, name: str, label: str, ctx: CallContext) -> Assignment | None: ...


class Rendered(Protocol):
    @property
    def messages(self) -> Any: ...
    @property
    def cache_marks(self) -> Any: ...
    @property
    def variables(self) -> dict[str, Any]: ...


RenderFn = Callable[[PromptSpec, Mapping[str, Any]], Rendered]
"""Validate, sanitize and render (``promptyard.prompts.render.render_prompt``)."""

_NO_UNCACHED_FINISH = frozenset({"error", "cancelled"})


def _zero_cost(_provider: str, _model: str, _usage: Usage) -> float:
    return 0.0


class Gateway:
    """Implements :class:`~promptyard.gateway.base.GatewayAPI`. Build it with ``runtime.gateway``."""

    def __init__(
        self,
        *,
        providers: ProviderSource,
        settings: Settings | None = None,
        prompts: PromptSource | None = None,
        splits: SplitSource | None = None,
        render: RenderFn | None = None,
        cache: AnswerCache | None = None,
        limiter: RateLimiter | None = None,
        limits: LimitPolicy | None = None,
        budget: BudgetTracker | None = None,
        tracer: TraceRecorder | None = None,
        cost: CostFn | None = None,
        stats: GatewayStats | None = None,
        guards: GuardRunner | None = None,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings = settings or Settings()
        self.stats = stats or GatewayStats()
        self.providers = providers
        self.prompts = prompts
        self.splits = splits
        if render is None:
            from promptyard.prompts.render import render_prompt

            render = render_prompt
        self._render: RenderFn = render
        self.cache = cache
        self.cache_ttl_s = settings.cache_ttl_s
        self.limits = limits if limits is not None else LimitPolicy.from_settings(settings)
        self.limiter: RateLimiter = limiter if limiter is not None else MemoryRateLimiter()
        self.budget = budget
        if budget is not None:  # one set of counters for the metrics exporter
            budget.stats = self.stats
            if budget.store is not None:
                budget.store.stats = self.stats
        self.tracer: TraceRecorder = tracer if tracer is not None else NullRecorder()
        self._tracing = not isinstance(self.tracer, NullRecorder)
        self.caller = ProviderCaller(
            providers,
            policy=RetryPolicy(settings.max_retries, settings.retry_base_s, settings.retry_max_s),
            output_retries=settings.output_retries,
            cost=cost or _zero_cost,
            stats=self.stats,
            sleep=sleep,
            rand=rand,
        )
        self.planner = Planner(default_timeout_s=settings.request_timeout_s)
        self.guards = GuardStep(settings, guards)
        self.flight: SingleFlight[Generated] = SingleFlight()
        self._clock = clock

    # ---- GatewayAPI --------------------------------------------------------------------
    async def run(self, call: PromptCall) -> GatewayResult:
        rec = self._begin("prompt", call.context, stream=False)
        try:
            plan = self._plan_prompt(call, rec)
            return await self._complete(plan, rec)
        except BaseException as exc:
            self.fail(rec, exc)
            raise

    async def chat(self, call: ChatCall) -> GatewayResult:
        rec = self._begin("chat", call.context, stream=False)
        try:
            plan = self._plan_chat(call, rec)
            return await self._complete(plan, rec)
        except BaseException as exc:
            self.fail(rec, exc)
            raise

    def run_stream(self, call: PromptCall) -> PipelineStream:
        rec = self._begin("prompt", call.context, stream=True)
        try:
            plan = self._plan_prompt(call, rec)
        except BaseException as exc:
            self.fail(rec, exc)
            raise
        return PipelineStream(self, plan, rec)

    def chat_stream(self, call: ChatCall) -> PipelineStream:
        rec = self._begin("chat", call.context, stream=True)
        try:
            plan = self._plan_chat(call, rec)
        except BaseException as exc:
            self.fail(rec, exc)
            raise
        return PipelineStream(self, plan, rec)

    async def aclose(self) -> None:
        """Flush spend and close backends (the providers belong to the provider registry)."""
        if self.budget is not None:
            await self.budget.aclose()
        if self.cache is not None:
            await self.cache.aclose()
        await self.limiter.aclose()
        await self.flight.aclose()

    # ---- steps 1-3: resolve, validate + sanitize, render -------------------------------
    def _begin(self, kind: TraceKind, ctx: CallContext, *, stream: bool) -> CallRecord:
        self.stats.calls += 1
        return CallRecord(
            trace_id=new_trace_id(),
            t0=time.perf_counter(),
            started=datetime.now(UTC),
            kind=kind,
            project=ctx.project or self.settings.project,
            ctx=ctx,
            stream=stream,
        )

    def _plan_prompt(self, call: PromptCall, rec: CallRecord) -> Plan:
        rec.prompt_name, rec.prompt_version, rec.prompt_label = call.name, call.version, call.label
        rec.inputs, rec.corpus_version = dict(call.variables), call.corpus_version
        if self.prompts is None:
            raise ConfigError("this gateway has no prompt registry", hint="build it with runtime.gateway")
        version, label = call.version, call.label
        if label is not None and self.splits is not None:  # a split on the label picks the version
            arm = self.splits.assign(call.name, label, call.context)
            if arm is not None:
                rec.experiment, rec.experiment_arm, rec.experiment_unit = arm.experiment, arm.version, arm.unit
                version, label = arm.version, None
        spec = self.prompts.resolve(call.name, version=version, label=label)
        rec.prompt_version = spec.version
        rendered = self._render(spec, call.variables)
        plan = self.planner.plan_prompt(call, spec, rendered.messages, rendered.cache_marks, rendered.variables)
        rec.plan = plan
        rec.guard_run = self.guards.start(self.guards.config_for(spec.guards, call.context))
        self.providers.get(plan.target.provider)  # unknown provider: UnknownModel now, not mid-call
        return plan

    def _plan_chat(self, call: ChatCall, rec: CallRecord) -> Plan:
        plan = self.planner.plan_chat(call)
        rec.plan, rec.inputs = plan, plan.inputs
        rec.guard_run = self.guards.start(self.guards.config_for(None, call.context))
        self.providers.get(plan.target.provider)
        return plan

    # ---- steps 4-13 for a non-streaming call -------------------------------------------
    async def _complete(self, plan: Plan, rec: CallRecord) -> GatewayResult:
        run = rec.guard_run
        await self.guards.before(run, plan)
        gen, text = await self.guards.finish(self, plan, run, await self.guards.alongside(run, self._answer(plan, rec)))
        result = self.succeed(rec, gen)
        result.text, result.parsed = text, self.guards.parsed(run, gen.parsed)
        return result

    async def _answer(self, plan: Plan, rec: CallRecord) -> Generated:
        key = plan.cache_key
        if key is not None and self.cache is not None:
            cached = await self.cache_get(key)
            if cached is not None and cached.fresh(self._clock()):
                rec.cache_hit = True
                return self.hit(cached)
            self.stats.cache_misses += 1
        token_buckets, est = await self.admit(plan, rec)
        try:
            if key is None:
                gen = await self.generate(plan, rec.state)
            else:
                gen, shared = await self.flight.do(key, lambda: self.generate(plan, rec.state))
                if shared:
                    rec.coalesced = True
                    self.stats.coalesced += 1
        finally:
            await self.settle(rec, token_buckets, est)
        return gen

    def succeed(self, rec: CallRecord, gen: Generated) -> GatewayResult:
        rec.generated = gen
        result = build_result(rec, gen)
        self.trace(rec, "ok")
        return result

    def fail(self, rec: CallRecord, exc: BaseException) -> None:
        if rec.traced:  # finished already (a stream closed after its last event)
            return
        if isinstance(exc, asyncio.CancelledError | GeneratorExit):
            self.stats.cancelled += 1
            self.trace(rec, "cancelled", exc)
        else:
            self.stats.errors += 1
            self.trace(rec, "error", exc)

    # ---- the steps, shared with streaming.py ---------------------------------------------
    def now(self) -> float:
        return self._clock()

    async def cache_get(self, key: str) -> CachedAnswer | None:
        """Step 4. A failing cache backend is a miss (counted and logged), never a failed request."""
        try:
            assert self.cache is not None
            return await self.cache.get(key)
        except Exception as exc:  # noqa: BLE001
            self.stats.cache_errors += 1
            log.warning("answer cache get failed (%s): %s", type(exc).__name__, exc)
            return None

    def hit(self, cached: CachedAnswer, *, stale: bool = False) -> Generated:
        """A cached answer as the pipeline's answer (the caller marks the record as a hit)."""
        if stale:
            self.stats.cache_stale_served += 1
        else:
            self.stats.cache_hits += 1
        return Generated(
            text=cached.text,
            parsed=cached.parsed,
            finish_reason=cached.finish_reason,
            provider=cached.provider,
            model=cached.model,
            usage=cached.usage or Usage(),
            cost_usd=0.0,
            stale=stale,
            saved_usd=cached.cost_usd,
        )

    async def admit(self, plan: Plan, rec: CallRecord) -> tuple[list[Bucket], int]:
        """Step 5: take the rate-limit charges, then check the budget."""
        token_buckets: list[Bucket] = []
        est = 0
        if self.limits.active:
            est = plan.prompt_chars // 4 + 1
            charges, token_buckets = self.limits.charges(rec.ctx, est)
            if charges:
                try:
                    await self.limiter.acquire(charges)
                except RateLimitExceeded:
                    self.stats.rate_limited += 1
                    raise
                except Exception as exc:
                    self.stats.limiter_errors += 1
                    if self.settings.rate_limit_fail_closed:
                        raise DependencyUnavailable("redis", f"rate limits unavailable, refusing: {exc}") from exc
                    log.warning("rate limiter failed, letting the call through: %s", exc)
                    token_buckets = []
        if self.budget is not None:
            bound = estimate_cost(plan, self.caller.cost, self.settings) if self.budget.reserving else 0.0
            rec.state.reserved_usd = await self.budget.check(rec.project, bound)
        return token_buckets, est

    async def generate(self, plan: Plan, state: CallState) -> Generated:
        """Steps 6-10 (run once per key at a time by single-flight)."""
        try:
            gen = await self.caller.complete(plan, state)
        except RateLimited:
            stale = await self._stale(plan)
            if stale is None:
                raise
            return stale
        await self.cache_set(plan, gen)
        return gen

    async def _stale(self, plan: Plan) -> Generated | None:
        """A rate-limited provider with no fallback left: serve a stale cached answer if one exists."""
        if plan.cache_key is None or self.cache is None:
            return None
        cached = await self.cache_get(plan.cache_key)
        if cached is None:
            return None
        return self.hit(cached, stale=True)

    async def cache_set(self, plan: Plan, gen: Generated) -> None:
        """Step 10: only validated answers from the model the prompt asked for are stored."""
        if plan.cache_key is None or self.cache is None or gen.degraded or gen.finish_reason in _NO_UNCACHED_FINISH:
            return
        now = self._clock()
        answer = CachedAnswer(
            text=gen.text,
            provider=gen.provider,
            model=gen.model,
            parsed=gen.parsed,
            finish_reason=gen.finish_reason,
            usage=gen.usage,
            cost_usd=gen.cost_usd,
            prompt=plan.prompt_ref,
            stored_at=now,
            expires_at=now + self.cache_ttl_s,
        )
        try:
            await self.cache.set(plan.cache_key, answer)
        except Exception as exc:  # noqa: BLE001
            self.stats.cache_errors += 1
            log.warning("answer cache set failed (%s): %s", type(exc).__name__, exc)

    async def settle(self, rec: CallRecord, token_buckets: list[Bucket], est: int) -> None:
        """Step 11: record what this call spent, and correct the token buckets to actual usage."""
        state = rec.state
        if self.budget is not None and (state.cost_usd or state.provider_calls or state.reserved_usd):
            reserved, state.reserved_usd = state.reserved_usd, 0.0
            try:
                state.flags.extend(
                    await self.budget.record(rec.project, state.cost_usd, state.provider_calls, reserved)
                )
            except Exception as exc:  # noqa: BLE001 - spend recording never fails a finished call
                self.stats.budget_errors += 1
                log.warning("could not record spend: %s", exc)
        if token_buckets:
            usage = state.usage
            actual = usage.input_tokens + usage.output_tokens if usage is not None else 0
            if actual != est:
                try:
                    await self.limiter.debit([(b, actual - est) for b in token_buckets])
                except Exception as exc:  # noqa: BLE001
                    self.stats.limiter_errors += 1
                    log.warning("rate limiter correction failed: %s", exc)

    def trace(self, rec: CallRecord, status: TraceStatus, error: BaseException | None = None) -> None:
        """Step 12: exactly one trace per call. A failing recorder is counted, never raised."""
        if rec.traced:
            return
        rec.traced = True
        if not self._tracing:
            return
        try:
            self.tracer.record(build_trace(rec, status, error))
        except Exception as exc:  # noqa: BLE001
            self.stats.trace_errors += 1
            log.warning("trace recording failed: %s", exc)


if TYPE_CHECKING:  # mypy checks that the gateway and its streams implement the public protocols

    def _implements(gateway: Gateway, stream: PipelineStream) -> tuple[GatewayAPI, GatewayStream]:
        return gateway, stream
