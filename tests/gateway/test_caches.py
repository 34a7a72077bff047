"""Every answer-cache backend passes the shared contract suite (promptyard.testing.cache_contract)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from promptyard.gateway.caches.base import AnswerCache, CachedAnswer
from promptyard.gateway.caches.memory import MemoryAnswerCache
from promptyard.gateway.caches.redis import RedisAnswerCache
from promptyard.gateway.caches.sqlite import SqliteAnswerCache
from promptyard.testing.cache_contract import AnswerCacheContract, ManualClock, answer


class TestMemoryCache(AnswerCacheContract):
    @pytest.fixture
    def cache(self, clock: ManualClock) -> AnswerCache:
        return MemoryAnswerCache(max_entries=1000, stale_s=self.STALE_S, clock=clock)


class TestSqliteCache(AnswerCacheContract):
    @pytest.fixture
    def cache(self, clock: ManualClock, tmp_path: Path) -> AnswerCache:
        return SqliteAnswerCache(tmp_path / "cache.sqlite3", stale_s=self.STALE_S, clock=clock)


@pytest.mark.redis
class TestRedisCache(AnswerCacheContract):
    @pytest.fixture
    def cache(self, clock: ManualClock, redis_url: str) -> AnswerCache:
        prefix = os.environ["PROMPTYARD_TEST_REDIS_PREFIX"]
        return RedisAnswerCache(redis_url, prefix=prefix, stale_s=self.STALE_S, clock=clock)


async def test_memory_cache_evicts_least_recently_used() -> None:
    clock = ManualClock()
    cache = MemoryAnswerCache(max_entries=2, clock=clock)
    await cache.set("a", answer(clock, "A"))
    await cache.set("b", answer(clock, "B"))
    assert await cache.get("a") is not None  # a is now the most recently used
    await cache.set("c", answer(clock, "C"))
    assert await cache.get("b") is None
    assert await cache.get("a") is not None
    assert await cache.get("c") is not None
    assert len(cache) == 2


async def test_sqlite_cache_survives_reopen(tmp_path: Path) -> None:
    clock = ManualClock()
    path = tmp_path / "c.sqlite3"
    first = SqliteAnswerCache(path, clock=clock)
    await first.set("k", answer(clock, "persisted"))
    await first.aclose()
    second = SqliteAnswerCache(path, clock=clock)
    got = await second.get("k")
    await second.aclose()
    assert got is not None
    assert got.text == "persisted"


def test_cached_answer_json_round_trip_without_usage() -> None:
    clock = ManualClock()
    original = answer(clock, "x", parsed=None, usage=None)
    assert CachedAnswer.from_json(original.to_json()) == original


async def test_backends_are_found_through_entry_points(tmp_path: Path, redis_url: str) -> None:
    from promptyard.gateway.caches import create_cache
    from promptyard.settings import Settings

    assert create_cache(Settings(home=tmp_path, cache_backend="none")) is None
    expected = {"memory": MemoryAnswerCache, "sqlite": SqliteAnswerCache, "redis": RedisAnswerCache}
    for name, cls in expected.items():
        cache = create_cache(Settings(home=tmp_path, cache_backend=name, redis_url=redis_url))  # type: ignore[arg-type]
        assert isinstance(cache, cls)
        assert cache is not None
        await cache.aclose()
