"""Today's spend per project, added atomically with each call: in process, or in Redis.

``add`` returns the new total in the same atomic step (in process: no await between the
read and the write; Redis: ``INCRBYFLOAT``), so concurrent calls never lose an update and
exactly one call sees each threshold crossed. ``first_alert`` is a set-if-absent flag, so
a threshold alert fires once per day even across instances.
"""

from __future__ import annotations

from typing import Protocol

import redis.asyncio as aioredis

_KEEP_S = 3 * 86_400


class SpendCounter(Protocol):
    async def add(self, project: str, day: str, usd: float) -> float:
        """Add ``usd`` and return the new total for the day."""
        ...

    async def get(self, project: str, day: str) -> float: ...

    async def seed(self, project: str, day: str, usd: float) -> None:
        """Set the day's total to ``usd`` only if nothing is recorded yet (restart recovery)."""
        ...

    async def first_alert(self, project: str, day: str, threshold_pct: int) -> bool:
        """True for the first caller only, per project, day and threshold."""
        ...

    async def aclose(self) -> None: ...


class MemorySpendCounter:
    def __init__(self) -> None:
        self._totals: dict[tuple[str, str], float] = {}
        self._alerts: set[tuple[str, str, int]] = set()

    async def add(self, project: str, day: str, usd: float) -> float:
        key = (project, day)
        total = self._totals.get(key, 0.0) + usd
        self._totals[key] = total
        return total

    async def get(self, project: str, day: str) -> float:
        return self._totals.get((project, day), 0.0)

    async def seed(self, project: str, day: str, usd: float) -> None:
        self._totals.setdefault((project, day), usd)

    async def first_alert(self, project: str, day: str, threshold_pct: int) -> bool:
        key = (project, day, threshold_pct)
        if key in self._alerts:
            return False
        self._alerts.add(key)
        return True

    async def aclose(self) -> None:
        return None


class RedisSpendCounter:
    """Keys ``<prefix>spend:<project>:<day>`` (a float) and ``<prefix>spend_alert:<project>:<day>:<pct>``."""

    def __init__(self, url: str, *, prefix: str = "promptyard:", client: aioredis.Redis | None = None) -> None:
        self.prefix = prefix
        self._redis: aioredis.Redis = client if client is not None else aioredis.Redis.from_url(url)

    def _key(self, project: str, day: str) -> str:
        return f"{self.prefix}spend:{project}:{day}"

    async def add(self, project: str, day: str, usd: float) -> float:
        key = self._key(project, day)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incrbyfloat(key, usd)
            pipe.expire(key, _KEEP_S)
            total, _ = await pipe.execute()
        return float(total)

    async def get(self, project: str, day: str) -> float:
        value = await self._redis.get(self._key(project, day))
        return float(value) if value is not None else 0.0

    async def seed(self, project: str, day: str, usd: float) -> None:
        await self._redis.set(self._key(project, day), repr(float(usd)), nx=True, ex=_KEEP_S)

    async def first_alert(self, project: str, day: str, threshold_pct: int) -> bool:
        key = f"{self.prefix}spend_alert:{project}:{day}:{threshold_pct}"
        return bool(await self._redis.set(key, "1", nx=True, ex=_KEEP_S))

    async def aclose(self) -> None:
        await self._redis.aclose()
