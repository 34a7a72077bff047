"""The Redis lease behind cross-instance single-flight: renewed while the leader works, released
after, taken over when the leader's work fails; Redis down means local single-flight only."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from promptyard.gateway import shared_flight
from promptyard.gateway.shared_flight import SharedFlight


def _pair(url: str, store: dict[str, str]) -> tuple[SharedFlight[str], SharedFlight[str]]:
    async def lookup(key: str) -> str | None:
        return store.get(key)

    prefix = os.environ["PROMPTYARD_TEST_REDIS_PREFIX"]
    return SharedFlight(url, lookup=lookup, prefix=prefix), SharedFlight(url, lookup=lookup, prefix=prefix)


@pytest.mark.redis
async def test_a_long_leader_keeps_its_lease_and_the_other_instance_waits(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared_flight, "LEASE_S", 0.3)  # renewed every 0.1 s; the work takes 1 s
    store: dict[str, str] = {}
    calls = 0

    async def work() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(1.0)
        store["k"] = "answer"  # what the gateway's cache_set does before the lease is released
        return "answer"

    a, b = _pair(redis_url, store)
    t0 = time.monotonic()
    (ra, sa), (rb, sb) = await asyncio.gather(a.do("k", work), b.do("k", work))
    assert calls == 1
    assert (ra, rb) == ("answer", "answer")
    assert sorted([sa, sb]) == [False, True]
    assert time.monotonic() - t0 < 1.6  # the leader was not held up by its renewer
    assert a.stats.coalesced_remote + b.stats.coalesced_remote == 1
    for f in (a, b):
        await f.aclose()


async def test_redis_down_falls_back_to_local_single_flight() -> None:
    async def lookup(_key: str) -> str | None:
        return None

    flight: SharedFlight[str] = SharedFlight("redis://127.0.0.1:1/0", lookup=lookup)
    calls = 0

    async def work() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return "local"

    results = await asyncio.gather(*(flight.do("k", work) for _ in range(5)))
    assert calls == 1  # in-process coalescing still holds
    assert [r for r, _ in results] == ["local"] * 5
    assert flight.stats.flight_errors == 1
    await flight.aclose()
