"""Wire a :class:`Gateway` from a Runtime: registry, providers, cache, limiter, budget, tracer."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from promptyard.gateway.budget import BudgetEvent, BudgetTracker
from promptyard.gateway.caches import create_cache
from promptyard.gateway.engine import Generated
from promptyard.gateway.pipeline import Gateway
from promptyard.gateway.ratelimit import create_limiter
from promptyard.gateway.shared_flight import SharedFlight
from promptyard.gateway.spend_counters import MemorySpendCounter, RedisSpendCounter, SpendCounter
from promptyard.gateway.spend_store import SpendStore
from promptyard.gateway.stats import GatewayStats

if TYPE_CHECKING:
    from promptyard.runtime import Runtime


def build_gateway(runtime: Runtime) -> Gateway:
    settings = runtime.settings
    stats = GatewayStats()
    counter: SpendCounter
    if settings.rate_limit_backend == "redis" or settings.cache_backend == "redis":
        counter = RedisSpendCounter(settings.redis_url, prefix=settings.redis_prefix)
    else:
        counter = MemorySpendCounter()

    def alert_sink(event: BudgetEvent) -> None:
        from promptyard.tracing.alerts import BudgetAlert

        runtime.alerts.fire(
            BudgetAlert(
                project=event.project,
                day=date.fromisoformat(event.day),
                threshold=event.threshold_pct / 100.0,
                spent_usd=event.spent_usd,
                budget_usd=event.budget_usd,
                fired_at=event.at,
            )
        )

    budget = BudgetTracker(
        daily_budget_usd=settings.daily_budget_usd,
        hard_stop=settings.budget_hard_stop,
        alert_sink=alert_sink,
        counter=counter,
        store=SpendStore(runtime.db, stats=stats),
        stats=stats,
    )
    from promptyard.guards.runner import GuardRunner
    from promptyard.guards.verdict_store import SqlVerdictStore

    gateway = Gateway(
        guards=GuardRunner(store=SqlVerdictStore(runtime.db)),
        providers=runtime.providers,
        settings=settings,
        prompts=runtime.registry,
        splits=runtime.experiments.splits,
        cache=create_cache(settings),
        limiter=create_limiter(settings),
        budget=budget,
        tracer=runtime.tracer,
        cost=runtime.prices.cost,
        stats=stats,
    )
    if settings.cache_backend == "redis":  # one provider call per key across every instance
        gateway.flight = shared_flight(gateway)
    return gateway


def shared_flight(gateway: Gateway) -> SharedFlight[Generated]:
    """Single-flight through a Redis lease; followers on other instances answer from the shared cache."""
    settings = gateway.settings

    async def lookup(key: str) -> Generated | None:
        cached = await gateway.cache_get(key)
        return gateway.hit(cached) if cached is not None and cached.fresh(gateway.now()) else None

    worst_s = settings.request_timeout_s * (settings.max_retries + 1) + settings.retry_max_s * settings.max_retries
    return SharedFlight(
        settings.redis_url, lookup=lookup, prefix=settings.redis_prefix, stats=gateway.stats, max_wait_s=worst_s
    )
