"""The contract every answer-cache backend passes (subclass it, pytest style).

::

    class TestMyCache(AnswerCacheContract):
        @pytest.fixture
        def cache(self, clock: ManualClock) -> AnswerCache:
            return MyCache(..., stale_s=self.STALE_S, clock=clock)

The backend must use ``clock`` for its own freshness checks and keep entries
:attr:`AnswerCacheContract.STALE_S` seconds past their ``expires_at``. Each test gets a
fresh cache; backends that share storage (Redis) must use a unique key prefix per test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from promptyard.gateway.caches.base import AnswerCache, CachedAnswer
from promptyard.providers.base import Usage


class ManualClock:
    """A wall clock that only moves when told to (starts at the real time)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def answer(clock: ManualClock, text: str = "hello", *, ttl_s: float = 60.0, **extra: object) -> CachedAnswer:
    fields: dict[str, object] = {
        "text": text,
        "provider": "fake",
        "model": "m1",
        "stored_at": clock(),
        "expires_at": clock() + ttl_s,
    }
    fields.update(extra)
    return CachedAnswer(**fields)  # type: ignore[arg-type]


class AnswerCacheContract:
    STALE_S = 100.0

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock()

    @pytest.fixture
    def cache(self, clock: ManualClock) -> AnswerCache:
        raise NotImplementedError("subclasses provide the cache under test")

    @pytest.fixture
    async def store(self, cache: AnswerCache) -> AsyncIterator[AnswerCache]:
        yield cache
        await cache.clear()
        await cache.aclose()

    async def test_is_an_answer_cache(self, store: AnswerCache) -> None:
        assert isinstance(store, AnswerCache)
        assert isinstance(store.name, str)
        assert store.name

    async def test_miss_is_none(self, store: AnswerCache) -> None:
        assert await store.get("absent") is None

    async def test_round_trip_keeps_every_field(self, store: AnswerCache, clock: ManualClock) -> None:
        usage = Usage(input_tokens=12, output_tokens=7, cache_read_tokens=3, cache_write_tokens=2, reasoning_tokens=1)
        stored = answer(
            clock,
            "Grüße, ﬁne — 你好 \n\t end",
            parsed={"a": [1, 2.5, None, True], "b": "ü"},
            finish_reason="length",
            usage=usage,
            cost_usd=0.0123,
            prompt="greet@1.2.0",
        )
        await store.set("k1", stored)
        got = await store.get("k1")
        assert got == stored

    async def test_set_replaces(self, store: AnswerCache, clock: ManualClock) -> None:
        await store.set("k", answer(clock, "one"))
        await store.set("k", answer(clock, "two"))
        got = await store.get("k")
        assert got is not None
        assert got.text == "two"

    async def test_keys_are_independent(self, store: AnswerCache, clock: ManualClock) -> None:
        await store.set("a", answer(clock, "A"))
        await store.set("b", answer(clock, "B"))
        a, b = await store.get("a"), await store.get("b")
        assert a is not None
        assert a.text == "A"
        assert b is not None
        assert b.text == "B"

    async def test_delete(self, store: AnswerCache, clock: ManualClock) -> None:
        await store.set("a", answer(clock))
        await store.set("b", answer(clock))
        await store.delete("a")
        await store.delete("never-there")
        assert await store.get("a") is None
        assert await store.get("b") is not None

    async def test_clear(self, store: AnswerCache, clock: ManualClock) -> None:
        for i in range(5):
            await store.set(f"k{i}", answer(clock))
        await store.clear()
        for i in range(5):
            assert await store.get(f"k{i}") is None

    async def test_expired_entry_is_returned_stale_within_the_stale_window(
        self, store: AnswerCache, clock: ManualClock
    ) -> None:
        await store.set("k", answer(clock, ttl_s=10.0))
        fresh = await store.get("k")
        assert fresh is not None
        assert fresh.fresh(clock())
        clock.advance(10.0 + self.STALE_S / 2)
        stale = await store.get("k")
        assert stale is not None
        assert not stale.fresh(clock())

    async def test_entry_is_gone_after_the_stale_window(self, store: AnswerCache, clock: ManualClock) -> None:
        await store.set("k", answer(clock, ttl_s=10.0))
        clock.advance(10.0 + self.STALE_S + 1.0)
        assert await store.get("k") is None

    async def test_concurrent_writers_and_readers(self, store: AnswerCache, clock: ManualClock) -> None:
        async def write_then_read(i: int) -> str | None:
            await store.set(f"c{i}", answer(clock, f"v{i}"))
            got = await store.get(f"c{i}")
            return got.text if got is not None else None

        results = await asyncio.gather(*(write_then_read(i) for i in range(40)))
        assert results == [f"v{i}" for i in range(40)]
