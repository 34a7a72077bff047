"""Streaming calls: the same pipeline, delivered as events.

Differences from a non-streaming call, all forced by text that has already left:

* retries and fallbacks apply only until the provider's first event has arrived;
* the timeout is a silence timeout: each event must arrive within it;
* output rules are checked at the end; an invalid answer is not cached and the stream
  ends with :class:`OutputValidationError` (it cannot be retried: it was already sent);
* identical concurrent streams are not coalesced.

When the consumer goes away (the task iterating is cancelled, or ``aclose()`` is called)
the provider stream is closed (its pending read is cancelled), the spend for what was
generated is estimated and recorded, and the trace is written with status ``cancelled``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING

from promptyard.errors import OutputValidationError
from promptyard.gateway.base import GatewayResult
from promptyard.gateway.engine import Generated, close_quietly, next_event
from promptyard.gateway.plan import Plan
from promptyard.gateway.ratelimit.base import Bucket
from promptyard.gateway.records import CallRecord
from promptyard.gateway.validate import estimate_tokens
from promptyard.providers.base import StreamEvent, Usage

if TYPE_CHECKING:
    from promptyard.gateway.fallback import Target
    from promptyard.gateway.pipeline import Gateway


class PipelineStream:
    """A :class:`~promptyard.gateway.base.GatewayStream`: iterate it for events; ``result`` is
    set just before the last event (which carries ``finish_reason`` and ``usage``)."""

    def __init__(self, gateway: Gateway, plan: Plan, rec: CallRecord) -> None:
        self.result: GatewayResult | None = None
        self.started = False
        self._gateway = gateway
        self._rec = rec
        self._events = stream_events(gateway, plan, rec, self)

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events

    async def aclose(self) -> None:
        """Stop the stream: cancels the provider call; the trace says ``cancelled`` unless it finished."""
        if not self.started and not self._rec.traced:
            self._gateway.fail(self._rec, asyncio.CancelledError())
        await self._events.aclose()


async def stream_events(
    gw: Gateway, plan: Plan, rec: CallRecord, out: PipelineStream
) -> AsyncGenerator[StreamEvent, None]:
    out.started = True
    state = rec.state
    events: AsyncIterator[StreamEvent] | None = None
    target: Target | None = None
    admitted: tuple[list[Bucket], int] | None = None
    parts: list[str] = []
    usage: Usage | None = None
    try:
        run = rec.guard_run
        await gw.guards.before_stream(run, plan)
        hold = gw.guards.holds_stream(run)  # output guards or restoring: the answer is sent once checked
        key = plan.cache_key
        if key is not None and gw.cache is not None:
            cached = await gw.cache_get(key)
            if cached is not None and cached.fresh(gw.now()):
                rec.cache_hit = True
                gen, shown = gw.guards.after(run, gw.hit(cached))
                out.result = gw.succeed(rec, gen)
                out.result.text = shown
                yield StreamEvent(delta=shown)
                yield StreamEvent(finish_reason=gen.finish_reason, usage=gen.usage)
                return
            gw.stats.cache_misses += 1
        admitted = await gw.admit(plan, rec)
        t_open = time.perf_counter()
        events, event, target = await gw.caller.open_stream(plan, state)
        state.ttft_ms = rec.elapsed_ms()
        finish: str | None = None
        request_id: str | None = None
        while event is not None:
            if event.delta:
                parts.append(event.delta)
                if not hold:
                    yield StreamEvent(delta=event.delta)
            if event.usage is not None:
                usage = event.usage
            if event.finish_reason is not None:
                finish = str(event.finish_reason)
            if event.request_id:
                request_id = event.request_id
            event = await next_event(events, plan.timeout_s, target)
        state.generate_ms = (time.perf_counter() - t_open) * 1000.0
        state.request_id = request_id
        text = "".join(parts)
        if usage is None:
            usage = _estimate(plan, text, state.flags)
        _charge(gw, target, usage, rec)
        parsed = None
        if plan.check is not None:
            checked = plan.check.check(text, usage.output_tokens)
            if not checked.ok:
                gw.stats.output_invalid += 1
                raise OutputValidationError(
                    "the streamed output failed validation (it was already sent, so it was not retried)",
                    problems=checked.problems,
                    output=text,
                )
            parsed = checked.parsed
        gen = Generated(
            text=text,
            parsed=parsed,
            finish_reason=finish or "stop",
            provider=target.provider,
            model=target.model,
            usage=state.usage or usage,
            cost_usd=state.cost_usd,
            request_id=request_id,
            retries=state.retries,
            fallback_used=state.fallback_used,
            degraded=state.degraded,
        )
        await gw.cache_set(plan, gen)
        settle, admitted = admitted, None
        await gw.settle(rec, *settle)
        gen, shown = await gw.guards.finish(gw, plan, run, gen)
        out.result = gw.succeed(rec, gen)
        out.result.text = shown
        if hold:
            yield StreamEvent(delta=shown)
        yield StreamEvent(finish_reason=gen.finish_reason, usage=gen.usage, request_id=request_id)
    except BaseException as exc:
        if events is not None and target is not None and usage is None and state.provider_calls == 0:
            _charge(gw, target, _estimate(plan, "".join(parts), state.flags), rec)
        if admitted is not None:
            settle, admitted = admitted, None
            await gw.settle(rec, *settle)
        gw.fail(rec, exc)
        raise
    finally:
        if events is not None:
            await close_quietly(events)


def _charge(gw: Gateway, target: Target, usage: Usage, rec: CallRecord) -> None:
    state = rec.state
    state.provider_calls += 1
    state.add_usage(usage)
    state.cost_usd += gw.caller.cost(target.provider, target.model, usage)


def _estimate(plan: Plan, text: str, flags: list[str]) -> Usage:
    """The provider reported no usage (the stream was cut short): estimate it, and say so."""
    flags.append("usage_estimated")
    return Usage(input_tokens=plan.prompt_chars // 4, output_tokens=estimate_tokens(text))
