"""Single-flight: identical concurrent requests share one provider call.

The first caller for a key (the leader) runs the work; callers arriving while it runs
(followers) wait for the leader's outcome, success or error, instead of calling the
provider again. If the leader is cancelled (its client went away), waiting followers are
not failed: one of them takes over and runs the work itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _LeaderCancelled(Exception):
    """Internal: the leader was cancelled before finishing; a follower must retry."""


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Future[T]] = {}

    def __len__(self) -> int:
        return len(self._inflight)

    async def aclose(self) -> None:
        """Release what the flight holds (nothing here; the Redis-shared one closes its client)."""
        return None

    async def do(self, key: str, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """Run ``work`` once per key at a time. Returns ``(result, shared)``; ``shared`` is True for followers."""
        while True:
            fut = self._inflight.get(key)
            if fut is None:
                return await self._lead(key, work), False
            try:
                # shield: a cancelled follower must not cancel the shared future.
                return await asyncio.shield(fut), True
            except _LeaderCancelled:
                continue

    async def _lead(self, key: str, work: Callable[[], Awaitable[T]]) -> T:
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            result = await work()
        except asyncio.CancelledError:
            fut.set_exception(_LeaderCancelled())
            fut.exception()  # mark retrieved: there may be no follower to read it
            raise
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()
            raise
        else:
            fut.set_result(result)
            return result
        finally:
            del self._inflight[key]
