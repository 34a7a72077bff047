"""The provider side of a call: timeout, retries, fallback chain, validate-and-retry.

Wrappers around the :class:`~promptyard.providers.base.Provider` protocol, applied in
this order (innermost first):

1. one attempt, cancelled when it exceeds the timeout (:class:`ProviderTimeout`);
2. retries of retryable errors on the same model (:mod:`.retry`);
3. the prompt's fallback chain (:mod:`.fallback`);
4. output validation: an invalid answer is sent back to the model that produced it with
   the problems listed, up to ``output_retries`` times, then :class:`OutputValidationError`.

Adapters stay plain; every cross-cutting behaviour lives here.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from promptyard.errors import (
    BadRequest,
    OutputValidationError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from promptyard.gateway.fallback import FallbackOutcome, Target, with_fallbacks
from promptyard.gateway.fastmodel import Constructor
from promptyard.gateway.plan import Plan
from promptyard.gateway.retry import RetryPolicy, Sleep, with_retries
from promptyard.gateway.stats import GatewayStats
from promptyard.gateway.validate import feedback_messages
from promptyard.providers.base import (
    CompletionRequest,
    CompletionResponse,
    Provider,
    StreamEvent,
    Usage,
    constraints_of,
)

log = logging.getLogger("promptyard.gateway")

CostFn = Callable[[str, str, Usage], float]
_usage = Constructor(Usage)


class ProviderSource(Protocol):
    """Finds a provider adapter by name (``ProviderRegistry`` in ``providers/registry.py``)."""

    def get(self, name: str) -> Provider:
        """The adapter, or :class:`UnknownModel` listing the configured ones."""
        ...


@dataclass(slots=True)
class CallState:
    """What happened on the provider side of one call (fed into the result and the trace)."""

    retries: int = 0
    fallback_used: str | None = None
    degraded: bool = False
    provider_calls: int = 0
    output_attempts: int = 0
    cost_usd: float = 0.0
    usage: Usage | None = None
    request_id: str | None = None
    generate_ms: float = 0.0
    ttft_ms: float | None = None
    flags: list[str] = field(default_factory=list)
    reserved_usd: float = 0.0
    """Budget reserved at admission, settled (and zeroed) at step 11."""

    def add_usage(self, usage: Usage) -> None:
        if self.usage is None:
            self.usage = usage
            return
        u = self.usage
        self.usage = _usage(
            input_tokens=u.input_tokens + usage.input_tokens,
            output_tokens=u.output_tokens + usage.output_tokens,
            cache_read_tokens=u.cache_read_tokens + usage.cache_read_tokens,
            cache_write_tokens=u.cache_write_tokens + usage.cache_write_tokens,
            cache_write_1h_tokens=u.cache_write_1h_tokens + usage.cache_write_1h_tokens,
            reasoning_tokens=u.reasoning_tokens + usage.reasoning_tokens,
        )


@dataclass(slots=True)
class Generated:
    """A finished answer (from the provider, or a stale cached one)."""

    text: str
    parsed: Any
    finish_reason: str
    provider: str
    model: str
    usage: Usage
    cost_usd: float
    """What this call spent at providers (all attempts)."""
    request_id: str | None = None
    retries: int = 0
    fallback_used: str | None = None
    degraded: bool = False
    stale: bool = False
    saved_usd: float = 0.0


class ProviderCaller:
    def __init__(
        self,
        providers: ProviderSource,
        *,
        policy: RetryPolicy,
        output_retries: int,
        cost: CostFn,
        stats: GatewayStats,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.providers = providers
        self.policy = policy
        self.output_retries = output_retries
        self.cost = cost
        self.stats = stats
        self.sleep = sleep
        self.rand = rand

    # ---- one attempt ------------------------------------------------------------------
    def provider(self, target: Target) -> Provider:
        return self.providers.get(target.provider)

    async def _attempt(
        self, provider: Provider, request: CompletionRequest, timeout_s: float, target: Target
    ) -> CompletionResponse:
        self.stats.provider_calls += 1
        request = fit_constraint(provider, request, target)
        cm = asyncio.timeout(timeout_s)
        try:
            async with cm:
                return await provider.complete(request)
        except TimeoutError:
            if not cm.expired():
                raise
            self.stats.timeouts += 1
            raise ProviderTimeout(
                f"{target.ref} did not answer within {timeout_s:g} s; the call was cancelled",
                provider=target.provider,
                hint="raise the prompt's model.timeout_s or PROMPTYARD_REQUEST_TIMEOUT_S",
            ) from None

    def _on_retry(self, state: CallState) -> Callable[[int, ProviderError, float], None]:
        def on_retry(_n: int, _exc: ProviderError, _delay: float) -> None:
            state.retries += 1
            self.stats.retries += 1

        return on_retry

    async def _with_retries(
        self, target: Target, request: CompletionRequest, timeout_s: float, state: CallState
    ) -> CompletionResponse:
        provider = self.provider(target)
        if request.model != target.model:
            request = request.model_copy(update={"model": target.model})
        t0 = time.perf_counter()
        try:
            return await with_retries(
                lambda: self._attempt(provider, request, timeout_s, target),
                self.policy,
                sleep=self.sleep,
                rand=self.rand,
                on_retry=self._on_retry(state),
            )
        finally:
            state.generate_ms += (time.perf_counter() - t0) * 1000.0

    def _charge(self, target: Target, response: CompletionResponse, state: CallState) -> None:
        state.provider_calls += 1
        state.add_usage(response.usage)
        state.cost_usd += self.cost(target.provider, target.model, response.usage)
        state.request_id = response.request_id or state.request_id

    def _note_fallback(self, state: CallState) -> Callable[[Target, ProviderError], None]:
        def on_fallback(target: Target, exc: ProviderError) -> None:
            self.stats.fallbacks += 1
            state.flags.append(f"fallback:{target.ref}:{exc.code}")

        return on_fallback

    # ---- a whole non-streaming call ----------------------------------------------------
    async def complete(self, plan: Plan, state: CallState) -> Generated:
        outcome = FallbackOutcome()

        async def attempt(target: Target) -> CompletionResponse:
            return await self._with_retries(target, plan.request, plan.timeout_s, state)

        try:
            response, target = await with_fallbacks(
                attempt,
                plan.target,
                plan.fallbacks,
                allow_degraded=plan.allow_degraded,
                outcome=outcome,
                on_fallback=self._note_fallback(state),
            )
        except ProviderUnavailable as exc:
            raise self._outage(plan, exc, outcome) from exc
        self._charge(target, response, state)
        if target is not plan.target:
            state.fallback_used = target.ref
            if target.degraded:
                state.degraded = True
                self.stats.degraded += 1
        text, parsed = await self._validated(plan, target, response, state)
        return Generated(
            text=text,
            parsed=parsed,
            finish_reason=str(response.finish_reason),
            provider=target.provider,
            model=response.model or target.model,
            usage=state.usage or response.usage,
            cost_usd=state.cost_usd,
            request_id=state.request_id,
            retries=state.retries,
            fallback_used=state.fallback_used,
            degraded=state.degraded,
        )

    async def _validated(
        self, plan: Plan, target: Target, response: CompletionResponse, state: CallState
    ) -> tuple[str, Any]:
        check = plan.check
        if check is None:
            return response.text, None
        request = plan.request
        while True:
            state.output_attempts += 1
            result = check.check(response.text, response.usage.output_tokens)
            if result.ok:
                return response.text, result.parsed
            if state.output_attempts > self.output_retries:
                self.stats.output_invalid += 1
                raise OutputValidationError(
                    f"the model's output failed validation after {state.output_attempts} attempt(s)",
                    problems=result.problems,
                    output=response.text,
                )
            self.stats.output_retries += 1
            state.flags.append("output_retry")
            request = request.model_copy(
                update={"messages": [*request.messages, *feedback_messages(response.text, result.problems)]}
            )
            response = await self._with_retries(target, request, plan.timeout_s, state)
            self._charge(target, response, state)

    def _outage(self, plan: Plan, exc: ProviderUnavailable, outcome: FallbackOutcome) -> ProviderUnavailable:
        """The provider is down and no allowed fallback answered: log the outage, say 503."""
        self.stats.outages += 1
        skipped = outcome.skipped_degraded or []
        log.warning(
            "provider outage: %s unavailable (%s)%s",
            plan.target.ref,
            exc.message,
            f"; degraded fallbacks not allowed by the prompt: {', '.join(skipped)}" if skipped else "",
        )
        hint = f"{plan.target.ref} is unavailable"
        if outcome.skipped_unconfigured:
            hint += "; fallbacks not configured here: " + ", ".join(outcome.skipped_unconfigured)
        if skipped:
            hint += "; set model.allow_degraded to allow " + ", ".join(skipped)
        return ProviderUnavailable(
            "service unavailable, try again", provider=plan.target.provider, status=503, hint=hint
        )

    # ---- streaming -----------------------------------------------------------------------
    async def open_stream(
        self, plan: Plan, state: CallState
    ) -> tuple[AsyncIterator[StreamEvent], StreamEvent | None, Target]:
        """Start a stream, with retries and fallbacks until its first event has arrived."""
        outcome = FallbackOutcome()

        async def attempt(target: Target) -> tuple[AsyncIterator[StreamEvent], StreamEvent | None]:
            provider = self.provider(target)
            request = plan.request
            if request.model != target.model:
                request = request.model_copy(update={"model": target.model})
            return await with_retries(
                lambda: self._first_event(provider, request, plan.timeout_s, target),
                self.policy,
                sleep=self.sleep,
                rand=self.rand,
                on_retry=self._on_retry(state),
            )

        try:
            (events, first), target = await with_fallbacks(
                attempt,
                plan.target,
                plan.fallbacks,
                allow_degraded=plan.allow_degraded,
                outcome=outcome,
                on_fallback=self._note_fallback(state),
            )
        except ProviderUnavailable as exc:
            raise self._outage(plan, exc, outcome) from exc
        if target is not plan.target:
            state.fallback_used = target.ref
            if target.degraded:
                state.degraded = True
                self.stats.degraded += 1
        return events, first, target

    async def _first_event(
        self, provider: Provider, request: CompletionRequest, timeout_s: float, target: Target
    ) -> tuple[AsyncIterator[StreamEvent], StreamEvent | None]:
        self.stats.provider_calls += 1
        events = provider.stream(fit_constraint(provider, request, target))
        try:
            first = await next_event(events, timeout_s, target)
        except BaseException:
            await close_quietly(events)
            raise
        return events, first


async def next_event(events: AsyncIterator[StreamEvent], timeout_s: float, target: Target) -> StreamEvent | None:
    """The next event, ``None`` at the end; :class:`ProviderTimeout` after ``timeout_s`` of silence."""
    cm = asyncio.timeout(timeout_s)
    try:
        async with cm:
            return await anext(events)
    except StopAsyncIteration:
        return None
    except TimeoutError:
        if not cm.expired():
            raise
        raise ProviderTimeout(
            f"{target.ref} sent nothing for {timeout_s:g} s; the stream was cancelled",
            provider=target.provider,
            hint="raise the prompt's model.timeout_s or PROMPTYARD_REQUEST_TIMEOUT_S",
        ) from None


async def close_quietly(events: AsyncIterator[StreamEvent]) -> None:
    aclose: Callable[[], Awaitable[None]] | None = getattr(events, "aclose", None)
    if aclose is None:
        return
    try:
        await aclose()
    except Exception:  # closing a broken stream must not mask the real error
        log.debug("provider stream did not close cleanly", exc_info=True)


def fit_constraint(provider: Provider, request: CompletionRequest, target: Target) -> CompletionRequest:
    """The request as ``provider`` can take it: a decoding constraint it cannot apply is
    rejected (``on_unsupported="reject"``, a BadRequest naming the provider) or dropped."""
    constraint = request.constraint
    if constraint is None or constraint.kind in constraints_of(provider):
        return request
    if constraint.on_unsupported == "ignore":
        return request.model_copy(update={"constraint": None})
    raise BadRequest(
        f"{target.ref} cannot apply the decoding constraint {constraint.kind!r}",
        provider=target.provider,
        hint="use a provider that applies it (local), or set model.constrain.on_unsupported: ignore",
    )
