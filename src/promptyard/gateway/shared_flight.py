"""Single-flight across instances: identical concurrent requests on several gateways make one call.

In one process :class:`~promptyard.gateway.singleflight.SingleFlight` already coalesces. With
the answer cache in Redis, the one local leader per key then also takes a Redis lease
(``SET <prefix>flight:<key> NX PX``). The instance holding it calls the provider (the answer
goes to the shared cache before the lease is released); leaders on other instances wait,
polling the shared cache, and answer from it. If the lease holder finishes without a cacheable
answer, or dies (its lease is renewed every second while it works and expires
``LEASE_S`` after its last renewal), a waiting instance takes the lease and calls itself.

Failure: when Redis is unreachable, each instance falls back to its local single-flight
(counted in ``flight_errors``, logged): requests are never failed for want of the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis

from promptyard.gateway.singleflight import SingleFlight
from promptyard.gateway.stats import GatewayStats
from promptyard.redis_client import async_client

log = logging.getLogger("promptyard.gateway")

T = TypeVar("T")

LEASE_S = 3.0
"""A lease not renewed for this long is free again (the holder died)."""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class SharedFlight(SingleFlight[T]):
    def __init__(
        self,
        url: str,
        *,
        lookup: Callable[[str], Awaitable[T | None]],
        prefix: str = "promptyard:",
        stats: GatewayStats | None = None,
        max_wait_s: float = 60.0,
        poll_s: float = 0.02,
        client: aioredis.Redis | None = None,
    ) -> None:
        super().__init__()
        self.prefix = prefix + "flight:"
        self.stats = stats or GatewayStats()
        self.max_wait_s = max_wait_s
        self.poll_s = poll_s
        self._lookup = lookup
        self._redis: aioredis.Redis = client if client is not None else async_client(url)
        self._release = self._redis.register_script(_RELEASE)
        self._renew = self._redis.register_script(_RENEW)

    async def do(self, key: str, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        remote = False

        async def across() -> T:
            nonlocal remote
            value, remote = await self._across(key, work)
            return value

        value, shared = await super().do(key, across)
        return value, shared or remote

    async def _across(self, key: str, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        lock, token = self.prefix + key, uuid.uuid4().hex
        deadline = time.monotonic() + self.max_wait_s
        while True:
            try:
                leader = bool(await self._redis.set(lock, token, nx=True, px=int(LEASE_S * 1000)))
            except Exception as exc:  # noqa: BLE001 - Redis down: local single-flight only
                return await self._alone(work, exc), False
            if leader:
                return await self._hold(lock, token, work), False
            while True:  # another instance leads: its answer lands in the shared cache
                await asyncio.sleep(self.poll_s)
                found = await self._lookup(key)
                if found is not None:
                    self.stats.coalesced_remote += 1
                    return found, True
                if time.monotonic() > deadline:
                    return await self._alone(work, TimeoutError("waited too long for another instance")), False
                try:
                    held = bool(await self._redis.exists(lock))
                except Exception as exc:  # noqa: BLE001
                    return await self._alone(work, exc), False
                if not held:
                    break  # the leader finished without a cacheable answer, or died: take the lease

    async def _alone(self, work: Callable[[], Awaitable[T]], exc: BaseException) -> T:
        self.stats.flight_errors += 1
        log.warning("shared single-flight unavailable, calling without it: %s: %s", type(exc).__name__, exc)
        return await work()

    async def _hold(self, lock: str, token: str, work: Callable[[], Awaitable[T]]) -> T:
        # Stopped by an event, never cancelled: a Redis command cancelled mid-flight may swallow the
        # cancellation (the renewer would then run, and its leader wait, forever).
        done = asyncio.Event()
        renewer = asyncio.create_task(self._keep(lock, token, done), name="promptyard-flight-lease")
        try:
            return await work()
        finally:
            done.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(renewer), timeout=1.0)
            try:
                await self._release(keys=[lock], args=[token])
            except Exception as exc:  # noqa: BLE001 - the lease expires by itself
                log.debug("could not release flight lease %s: %s", lock, exc)

    async def _keep(self, lock: str, token: str, done: asyncio.Event) -> None:
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), LEASE_S / 3)
                return
            try:
                await self._renew(keys=[lock], args=[token, int(LEASE_S * 1000)])
            except Exception as exc:  # noqa: BLE001
                log.debug("could not renew flight lease %s: %s", lock, exc)

    async def aclose(self) -> None:
        await self._redis.aclose()
