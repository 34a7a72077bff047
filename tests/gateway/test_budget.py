"""Daily budgets: exact spend under concurrency, WARN events once per threshold per day,
the hard stop, and spend persisted in the database."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from promptyard.errors import BudgetExceeded
from promptyard.gateway.base import CallContext, PromptCall
from promptyard.gateway.budget import BudgetEvent, BudgetTracker
from promptyard.gateway.pipeline import Gateway
from promptyard.gateway.spend_counters import RedisSpendCounter
from promptyard.gateway.spend_store import SpendStore
from promptyard.providers.base import Usage
from promptyard.providers.fake import FakeProvider
from promptyard.store.db import Database
from promptyard.testing.cache_contract import ManualClock
from promptyard.tracing.model import MemoryRecorder


def eighth(_provider: str, _model: str, _usage: Usage) -> float:
    """Every call costs 0.125 USD: exact in binary floating point, so sums can be compared exactly."""
    return 0.125


async def test_thresholds_fire_once_per_day(clock: ManualClock) -> None:
    seen: list[BudgetEvent] = []
    budget = BudgetTracker(daily_budget_usd=1.0, alert_sink=seen.append, clock=clock)
    assert await budget.record("p", 0.5) == []
    assert await budget.record("p", 0.25) == []
    assert await budget.record("p", 0.125) == ["budget_80"]  # 0.875
    assert await budget.record("p", 0.0625) == []
    assert await budget.record("p", 0.0625) == ["budget_100"]  # 1.0
    assert await budget.record("p", 0.5) == []
    assert [(e.project, e.threshold_pct, e.spent_usd) for e in seen] == [("p", 80, 0.875), ("p", 100, 1.0)]
    assert budget.stats.budget_warnings == 2
    assert await budget.record("other", 0.9) == ["budget_80"]  # per project
    clock.advance(86_400)  # a new UTC day starts from zero
    assert await budget.spent_today("p") == 0.0
    assert await budget.record("p", 1.0) == ["budget_80", "budget_100"]


async def test_without_a_sink_the_warning_is_logged(clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    budget = BudgetTracker(daily_budget_usd=1.0, clock=clock)
    with caplog.at_level("WARNING", logger="promptyard.budget"):
        await budget.record("p", 0.9)
    assert "project p reached 80% of its daily budget" in caplog.text


async def test_hard_stop(clock: ManualClock) -> None:
    soft = BudgetTracker(daily_budget_usd=1.0, clock=clock)
    await soft.record("p", 2.0)
    await soft.check("p")  # over budget, but no hard stop: only warnings
    hard = BudgetTracker(daily_budget_usd=1.0, hard_stop=True, clock=clock)
    await hard.check("p")
    await hard.record("p", 1.0)
    with pytest.raises(BudgetExceeded, match=r"daily budget of 1.00 USD for project 'p' is spent") as err:
        await hard.check("p")
    assert "PROMPTYARD_BUDGET_HARD_STOP" in str(err.value)
    await hard.check("another-project")


async def test_budget_holds_under_concurrency_through_the_gateway(
    make_gateway: Callable[..., Gateway], fake: FakeProvider, recorder: MemoryRecorder, clock: ManualClock
) -> None:
    events: list[BudgetEvent] = []
    budget = BudgetTracker(daily_budget_usd=5.0, alert_sink=events.append, clock=clock)
    gw = make_gateway(budget=budget, cost=eighth, cache=None)
    ctx = CallContext(project="acme")
    await asyncio.gather(
        *(
            gw.run(PromptCall(name="greet", label="production", variables={"who": f"user {i}"}, context=ctx))
            for i in range(50)
        )
    )
    assert fake.calls == 50
    assert await budget.spent_today("acme") == 50 * 0.125  # every call recorded, none lost
    assert [e.threshold_pct for e in events] == [80, 100]
    flagged = [f for t in recorder.traces for f in t.flags if f.startswith("budget_")]
    assert sorted(flagged) == ["budget_100", "budget_80"]


async def test_hard_stop_refuses_calls_with_budget_exceeded(
    make_gateway: Callable[..., Gateway], fake: FakeProvider, recorder: MemoryRecorder, clock: ManualClock
) -> None:
    budget = BudgetTracker(daily_budget_usd=0.25, hard_stop=True, clock=clock)
    gw = make_gateway(budget=budget, cost=eighth, cache=None)
    for i in range(2):
        await gw.run(PromptCall(name="greet", label="production", variables={"who": str(i)}))
    with pytest.raises(BudgetExceeded):
        await gw.run(PromptCall(name="greet", label="production", variables={"who": "third"}))
    assert fake.calls == 2
    assert gw.stats.budget_refused == 1
    assert recorder.traces[-1].error_type == "budget_exceeded"


@pytest.mark.redis
async def test_redis_spend_is_exact_and_alerts_once_across_instances(redis_url: str, clock: ManualClock) -> None:
    prefix = os.environ["PROMPTYARD_TEST_REDIS_PREFIX"]
    events: list[BudgetEvent] = []
    trackers = [
        BudgetTracker(
            daily_budget_usd=5.0,
            alert_sink=events.append,
            counter=RedisSpendCounter(redis_url, prefix=prefix),
            clock=clock,
        )
        for _ in range(2)
    ]
    await asyncio.gather(*(trackers[i % 2].record("shared", 0.125) for i in range(48)))
    assert await trackers[0].spent_today("shared") == 6.0
    assert sorted(e.threshold_pct for e in events) == [80, 100]  # once each, across both instances
    for t in trackers:
        await t.aclose()


async def test_spend_is_persisted_in_batches_and_survives_a_restart(db_url: str, clock: ManualClock) -> None:
    db = Database(db_url)
    try:
        store = SpendStore(db, flush_interval_s=0.01)
        budget = BudgetTracker(daily_budget_usd=10.0, store=store, clock=clock)
        for _ in range(4):
            await budget.record("acme", 0.125)
        await budget.record("acme", 0.0)  # a free call still counts as a call
        await budget.aclose()  # flushes what is buffered
        day = datetime.fromtimestamp(clock(), UTC).date()
        assert SpendStore(db).load("acme", day) == 0.5
        # a second instance (or a restart) adds to the same row and starts from the persisted spend
        store2 = SpendStore(db)
        restarted = BudgetTracker(daily_budget_usd=10.0, store=store2, clock=clock)
        assert await restarted.spent_today("acme") == 0.5
        await restarted.record("acme", 0.25)
        await store2.flush()
        assert store2.load("acme", day) == 0.75
        from sqlalchemy import select

        from promptyard.store.tables.gateway import DailySpendRow

        with db.session() as s:
            row = s.scalars(select(DailySpendRow)).one()
        assert (row.project, row.calls) == ("acme", 6)
    finally:
        db.dispose()


async def test_background_flush_writes_without_being_asked(sqlite_url: str, clock: ManualClock) -> None:
    db = Database(sqlite_url)
    store = SpendStore(db, flush_interval_s=0.01)
    store.add("p", datetime.fromtimestamp(clock(), UTC).date(), 0.5)
    day = datetime.fromtimestamp(clock(), UTC).date()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while store.load("p", day) != 0.5:
        assert loop.time() < deadline, "background flush did not happen"
        await asyncio.sleep(0.01)
    await store.aclose()
    db.dispose()
