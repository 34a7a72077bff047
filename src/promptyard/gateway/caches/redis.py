"""Redis answer cache: one cache shared by every gateway instance."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import redis.asyncio as aioredis

from promptyard.gateway.caches.base import CachedAnswer
from promptyard.redis_client import async_client
from promptyard.settings import Settings


class RedisAnswerCache:
    """Entries are plain strings under ``<prefix>cache:<key>`` with a Redis expiry of TTL + stale window."""

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "promptyard:",
        stale_s: float = 86_400.0,
        clock: Callable[[], float] = time.time,
        client: aioredis.Redis | None = None,
    ) -> None:
        self.prefix = prefix + "cache:"
        self.stale_s = stale_s
        self._clock = clock
        self._redis: aioredis.Redis = client if client is not None else async_client(url)

    async def get(self, key: str) -> CachedAnswer | None:
        blob = await self._redis.get(self.prefix + key)
        if blob is None:
            return None
        answer = CachedAnswer.from_json(blob)
        if self._clock() >= answer.expires_at + self.stale_s:
            return None
        return answer

    async def set(self, key: str, answer: CachedAnswer) -> None:
        keep_s = answer.expires_at + self.stale_s - self._clock()
        if keep_s <= 0:
            return
        await self._redis.set(self.prefix + key, answer.to_json(), px=max(1, math.ceil(keep_s * 1000)))

    async def delete(self, key: str) -> None:
        await self._redis.delete(self.prefix + key)

    async def clear(self) -> None:
        batch: list[bytes] = []
        async for k in self._redis.scan_iter(match=self.prefix + "*", count=500):
            batch.append(k)
            if len(batch) >= 500:
                await self._redis.delete(*batch)
                batch.clear()
        if batch:
            await self._redis.delete(*batch)

    async def aclose(self) -> None:
        await self._redis.aclose()


def create(settings: Settings) -> RedisAnswerCache:
    return RedisAnswerCache(settings.redis_url, prefix=settings.redis_prefix, stale_s=settings.cache_stale_s)
