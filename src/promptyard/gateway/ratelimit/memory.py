"""In-process token buckets (the default): exact within one process."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from promptyard.gateway.ratelimit.base import Charge, exceeded


class MemoryRateLimiter:
    """Buckets in a dict. ``acquire`` has no await inside, so it is atomic on the event loop."""

    name = "memory"

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_buckets: int = 100_000) -> None:
        self._clock = clock
        self._max_buckets = max_buckets
        self._state: dict[str, list[float]] = {}
        """key -> [level, last refill time]."""

    def _level(self, key: str, capacity: float, per_s: float, now: float) -> list[float]:
        state = self._state.get(key)
        if state is None:
            if len(self._state) >= self._max_buckets:
                self._evict_full(now)
            state = self._state[key] = [capacity, now]
            return state
        level = state[0] + (now - state[1]) * per_s
        state[0] = capacity if level > capacity else level
        state[1] = now
        return state

    def _evict_full(self, now: float) -> None:
        """Drop buckets that have been idle long enough to be full again (they hold no information)."""
        for key, (level, at) in list(self._state.items()):
            if now - at > 120.0 and level >= 0:
                del self._state[key]

    async def acquire(self, charges: Sequence[Charge]) -> None:
        now = self._clock()
        states = []
        worst = 0.0
        worst_bucket = None
        for bucket, units in charges:
            state = self._level(bucket.key, bucket.capacity, bucket.per_s, now)
            states.append(state)
            need = min(units, bucket.capacity)
            if state[0] < need:
                wait = (need - state[0]) / bucket.per_s
                if wait > worst:
                    worst, worst_bucket = wait, bucket
        if worst_bucket is not None:
            raise exceeded(worst_bucket, worst)
        for state, (_bucket, units) in zip(states, charges, strict=True):
            state[0] -= units

    async def debit(self, charges: Sequence[Charge]) -> None:
        now = self._clock()
        for bucket, units in charges:
            state = self._level(bucket.key, bucket.capacity, bucket.per_s, now)
            state[0] = min(bucket.capacity, state[0] - units)

    async def aclose(self) -> None:
        return None
