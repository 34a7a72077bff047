"""Hard budgets reserve a call's estimated cost before it runs and settle after, atomically, so
several gateway instances under concurrent load overshoot by at most one call's estimate."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from promptyard.errors import BudgetExceeded
from promptyard.gateway.base import CallContext, PromptCall
from promptyard.gateway.budget import BudgetTracker
from promptyard.gateway.pipeline import Gateway
from promptyard.gateway.spend_counters import MemorySpendCounter, RedisSpendCounter
from promptyard.gateway.spend_store import SpendStore
from promptyard.providers.base import Usage
from promptyard.providers.fake import FakeProvider, echo
from promptyard.settings import Settings
from promptyard.store.db import Database
from promptyard.testing.cache_contract import ManualClock

EIGHTH = 0.125


def eighth(_provider: str, _model: str, _usage: Usage) -> float:
    return EIGHTH


def by_tokens(_provider: str, _model: str, usage: Usage) -> float:
    """1/1024 USD per output token: the estimate (max_tokens) is an upper bound of the real cost."""
    return usage.output_tokens / 1024


async def _burst(gateways: list[Gateway], n: int) -> tuple[int, int]:
    async def one(i: int) -> bool:
        call = PromptCall(
            name="greet", label="production", variables={"who": f"user {i}"}, context=CallContext(project="acme")
        )
        try:
            await gateways[i % len(gateways)].run(call)
        except BudgetExceeded:
            return False
        return True

    results = await asyncio.gather(*(one(i) for i in range(n)))
    return sum(results), n - sum(results)


@pytest.mark.redis
async def test_two_instances_under_concurrency_stop_at_the_budget(
    make_gateway: Callable[..., Gateway], fake: FakeProvider, redis_url: str, clock: ManualClock
) -> None:
    prefix = os.environ["PROMPTYARD_TEST_REDIS_PREFIX"]
    fake.default = echo(delay_s=0.02)  # every admitted call is in flight while the others arrive
    budgets = [
        BudgetTracker(
            daily_budget_usd=1.0, hard_stop=True, counter=RedisSpendCounter(redis_url, prefix=prefix), clock=clock
        )
        for _ in range(2)
    ]
    gateways = [make_gateway(budget=b, cost=eighth, cache=None) for b in budgets]
    ok, refused = await _burst(gateways, 80)
    spent = await budgets[0].spent_today("acme")
    assert (ok, refused) == (8, 72)  # without the reservation all 80 were admitted (a 9 USD overshoot)
    assert fake.calls == 8
    assert spent == 1.0  # settled to exact spend; overshoot 0 <= one call's estimate
    for b in budgets:
        await b.aclose()


@pytest.mark.redis
async def test_overshoot_stays_under_one_estimate_when_costs_vary(
    make_gateway: Callable[..., Gateway], fake: FakeProvider, redis_url: str, clock: ManualClock, settings: Settings
) -> None:
    prefix = os.environ["PROMPTYARD_TEST_REDIS_PREFIX"]
    fake.default = echo(delay_s=0.01)
    budgets = [
        BudgetTracker(
            daily_budget_usd=0.05, hard_stop=True, counter=RedisSpendCounter(redis_url, prefix=prefix), clock=clock
        )
        for _ in range(2)
    ]
    small = settings.model_copy(update={"budget_estimate_output_tokens": 16})  # echo answers are shorter
    gateways = [make_gateway(budget=b, cost=by_tokens, cache=None, settings=small) for b in budgets]
    for _ in range(50):  # until a whole burst is refused: the budget is spent and nothing is in flight
        ok, _ = await _burst(gateways, 64)
        if ok == 0:
            break
    spent = await budgets[0].spent_today("acme")
    estimate = 16 / 1024  # no max_tokens on the prompt: the setting
    assert ok == 0
    assert 0.05 <= spent < 0.05 + estimate
    for b in budgets:
        await b.aclose()


async def test_a_failed_call_releases_its_reservation(
    make_gateway: Callable[..., Gateway], fake: FakeProvider, clock: ManualClock
) -> None:
    from promptyard.errors import ProviderUnavailable
    from promptyard.testing import unavailable

    budget = BudgetTracker(daily_budget_usd=1.0, hard_stop=True, clock=clock)
    gw = make_gateway(budget=budget, cost=eighth, cache=None)
    fake.script(unavailable(), unavailable(), unavailable())
    with pytest.raises(ProviderUnavailable):
        await gw.run(PromptCall(name="greet", label="production", variables={"who": "x"}))
    assert await budget.spent_today("default") == 0.0  # failed attempts cost nothing; the reservation is gone


async def test_redis_losing_the_total_reseeds_it_from_the_database(sqlite_url: str, clock: ManualClock) -> None:
    """A counter that lost its data (Redis restarted) is rebuilt from the persisted spend."""
    db = Database(sqlite_url)
    counter = MemorySpendCounter()
    store = SpendStore(db, flush_interval_s=0.01)
    budget = BudgetTracker(daily_budget_usd=1.0, hard_stop=True, counter=counter, store=store, clock=clock)
    reserved = await budget.check("p", EIGHTH)
    await budget.record("p", 0.5, 1, reserved)
    await store.flush()
    counter._totals.clear()  # the Redis restart
    await budget.check("p", EIGHTH)
    day = datetime.fromtimestamp(clock(), UTC).date().isoformat()
    assert await counter.get("p", day) == 0.5 + EIGHTH
    await budget.aclose()
    db.dispose()
