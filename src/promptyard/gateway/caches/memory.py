"""In-process LRU answer cache with TTL (the default backend)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from promptyard.gateway.caches.base import CachedAnswer
from promptyard.settings import Settings


class MemoryAnswerCache:
    """A bounded LRU. Entries are dropped ``stale_s`` after they expire, or when evicted.

    Every operation is synchronous under the hood (one event loop, no awaits inside), so
    it is atomic and costs a dict lookup.
    """

    name = "memory"

    def __init__(
        self, *, max_entries: int = 10_000, stale_s: float = 86_400.0, clock: Callable[[], float] = time.time
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.stale_s = stale_s
        self._clock = clock
        self._data: OrderedDict[str, CachedAnswer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    async def get(self, key: str) -> CachedAnswer | None:
        answer = self._data.get(key)
        if answer is None:
            return None
        if self._clock() >= answer.expires_at + self.stale_s:
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return answer

    async def set(self, key: str, answer: CachedAnswer) -> None:
        data = self._data
        data[key] = answer
        data.move_to_end(key)
        if len(data) > self.max_entries:
            data.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def clear(self) -> None:
        self._data.clear()

    async def aclose(self) -> None:
        return None


def create(settings: Settings) -> MemoryAnswerCache:
    return MemoryAnswerCache(max_entries=settings.cache_max_entries, stale_s=settings.cache_stale_s)
