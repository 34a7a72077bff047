"""Today's spend per project, added atomically with each call: in process, or in Redis.

``add`` returns the new total in the same atomic step (in process: no await between the
read and the write; Redis: ``INCRBYFLOAT``), so concurrent calls never lose an update and
exactly one call sees each threshold crossed. ``first_alert`` is a set-if-absent flag, so
a threshold alert fires once per day even across instances.

``reserve`` is the hard budget's admission step: in one atomic step it refuses when the day's
total (settled spend plus every in-flight reservation, on every instance) has reached the
limit, or adds the call's estimate. The call later settles with ``add(actual - estimate)``.
So N instances admitting concurrently overshoot the limit by less than one call's estimate.
"""

from __future__ import annotations

from typing import Literal, Protocol

import redis.asyncio as aioredis

from promptyard.redis_client import async_client

_KEEP_S = 3 * 86_400

Reserved = Literal["ok", "refused", "unseeded"]
"""``unseeded``: the counter has no entry for the day (first call, or Redis lost its data): seed, retry."""

# KEYS[1]: the day's total. ARGV: estimate, limit, keep seconds. Returns {status, total}.
_RESERVE = """
local v = redis.call('GET', KEYS[1])
if not v then return {2, '0'} end
if tonumber(v) >= tonumber(ARGV[2]) then return {0, v} end
local t = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, t}
"""
# Add to an existing total only (a missing one means Redis restarted: the caller re-seeds it).
_ADD = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local t = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return t
"""
_STATUS: dict[int, Reserved] = {0: "refused", 1: "ok", 2: "unseeded"}


class SpendCounter(Protocol):
    async def add(self, project: str, day: str, usd: float) -> float | None:
        """Add ``usd`` and return the new total for the day; None (nothing added) when the day has no
        entry although it was seeded (Redis lost its data): the caller seeds again."""
        ...

    async def get(self, project: str, day: str) -> float: ...

    async def reserve(self, project: str, day: str, usd: float, limit: float) -> tuple[Reserved, float]:
        """Atomically: refuse if the day's total is at ``limit``, else add ``usd``. Returns the status and total."""
        ...

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

    async def add(self, project: str, day: str, usd: float) -> float | None:
        key = (project, day)
        total = self._totals.get(key, 0.0) + usd
        self._totals[key] = total
        return total

    async def get(self, project: str, day: str) -> float:
        return self._totals.get((project, day), 0.0)

    async def reserve(self, project: str, day: str, usd: float, limit: float) -> tuple[Reserved, float]:
        key = (project, day)
        total = self._totals.get(key)
        if total is None:
            return "unseeded", 0.0
        if total >= limit:
            return "refused", total
        total += usd
        self._totals[key] = total
        return "ok", total

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
        self._redis: aioredis.Redis = client if client is not None else async_client(url)
        self._reserve = self._redis.register_script(_RESERVE)
        self._add = self._redis.register_script(_ADD)

    def _key(self, project: str, day: str) -> str:
        return f"{self.prefix}spend:{project}:{day}"

    async def add(self, project: str, day: str, usd: float) -> float | None:
        total = await self._add(keys=[self._key(project, day)], args=[repr(usd), _KEEP_S])
        return None if total is None else float(total)

    async def get(self, project: str, day: str) -> float:
        value = await self._redis.get(self._key(project, day))
        return float(value) if value is not None else 0.0

    async def reserve(self, project: str, day: str, usd: float, limit: float) -> tuple[Reserved, float]:
        status, total = await self._reserve(keys=[self._key(project, day)], args=[repr(usd), repr(limit), _KEEP_S])
        return _STATUS[int(status)], float(total)

    async def seed(self, project: str, day: str, usd: float) -> None:
        await self._redis.set(self._key(project, day), repr(float(usd)), nx=True, ex=_KEEP_S)

    async def first_alert(self, project: str, day: str, threshold_pct: int) -> bool:
        key = f"{self.prefix}spend_alert:{project}:{day}:{threshold_pct}"
        return bool(await self._redis.set(key, "1", nx=True, ex=_KEEP_S))

    async def aclose(self) -> None:
        await self._redis.aclose()
