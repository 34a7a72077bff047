"""Token buckets in Redis, checked and charged atomically by one Lua script.

Several gateway instances sharing one Redis share the limits exactly: the script runs
atomically on the server, reads every bucket, refills it from the server's own clock
(``TIME``, so instance clocks do not matter), and charges all buckets or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from promptyard.gateway.ratelimit.base import Charge, exceeded
from promptyard.redis_client import async_client

# KEYS: bucket keys. ARGV[1]: "acquire" | "debit"; then per bucket: capacity, refill per ms, units.
# Returns {1, ""} when charged, or {0, "<index>:<wait ms>"} when refused (nothing charged).
_SCRIPT = """
local mode = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local levels = {}
local worst, worst_i = 0, 0
for i = 1, #KEYS do
  local cap = tonumber(ARGV[i * 3 - 1])
  local rate = tonumber(ARGV[i * 3])
  local units = tonumber(ARGV[i * 3 + 1])
  local v = redis.call('HMGET', KEYS[i], 'l', 't')
  local level = tonumber(v[1])
  if level == nil then
    level = cap
  else
    level = math.min(cap, level + (now - tonumber(v[2])) * rate)
  end
  levels[i] = level
  if mode == 'acquire' then
    local need = math.min(units, cap)
    if level < need then
      local wait = (need - level) / rate
      if wait > worst then worst, worst_i = wait, i end
    end
  end
end
if worst_i > 0 then
  return {0, tostring(worst_i) .. ':' .. tostring(worst)}
end
for i = 1, #KEYS do
  local cap = tonumber(ARGV[i * 3 - 1])
  local rate = tonumber(ARGV[i * 3])
  local level = math.min(cap, levels[i] - tonumber(ARGV[i * 3 + 1]))
  redis.call('HSET', KEYS[i], 'l', tostring(level), 't', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil((cap - level) / rate) + 1000)
end
return {1, ''}
"""


class RedisRateLimiter:
    name = "redis"

    def __init__(self, url: str, *, prefix: str = "promptyard:", client: aioredis.Redis | None = None) -> None:
        self.prefix = prefix + "rl:"
        self._redis: aioredis.Redis = client if client is not None else async_client(url)
        self._script = self._redis.register_script(_SCRIPT)

    def _args(self, mode: str, charges: Sequence[Charge]) -> tuple[list[str], list[Any]]:
        keys = [self.prefix + bucket.key for bucket, _ in charges]
        argv: list[Any] = [mode]
        for bucket, units in charges:
            argv += [repr(float(bucket.capacity)), repr(bucket.per_s / 1000.0), repr(float(units))]
        return keys, argv

    async def acquire(self, charges: Sequence[Charge]) -> None:
        if not charges:
            return
        keys, argv = self._args("acquire", charges)
        ok, detail = await self._script(keys=keys, args=argv)
        if int(ok) == 1:
            return
        index, wait_ms = (detail.decode() if isinstance(detail, bytes) else str(detail)).split(":")
        raise exceeded(charges[int(index) - 1][0], float(wait_ms) / 1000.0)

    async def debit(self, charges: Sequence[Charge]) -> None:
        if not charges:
            return
        keys, argv = self._args("debit", charges)
        await self._script(keys=keys, args=argv)

    async def aclose(self) -> None:
        await self._redis.aclose()
