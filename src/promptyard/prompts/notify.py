"""Label moves reach every instance within a fraction of a second, not only after the cache TTL.

Each instance caches resolved label targets for ``PROMPTYARD_LABEL_CACHE_TTL_S``. With Redis
configured (answer cache or rate limits in Redis), a label move also increments one counter,
``<prefix>labels:version``; every registry reads that counter at most every ``POLL_S`` while it
resolves labels, and drops its cached targets when it changed. The read is one ``GET`` on
loopback (tens of microseconds). When Redis is unreachable the registry falls back to the TTL
and reads again after ``RETRY_S`` (logged once per outage).
"""

from __future__ import annotations

import logging
from typing import Protocol

import redis

from promptyard.redis_client import sync_client
from promptyard.settings import Settings

log = logging.getLogger("promptyard.prompts")

POLL_S = 0.1
RETRY_S = 1.0


class LabelVersion(Protocol):
    """A counter every label move bumps; readers compare it to the one they saw."""

    def current(self) -> int | None:
        """The counter, or None when it cannot be read (then the cache TTL applies)."""
        ...

    def bump(self) -> None: ...


class RedisLabelVersion:
    def __init__(self, url: str, *, prefix: str = "promptyard:", client: redis.Redis | None = None) -> None:
        self.key = prefix + "labels:version"
        self._redis: redis.Redis = client if client is not None else sync_client(url)
        self._down = False

    def current(self) -> int | None:
        try:
            value = self._redis.get(self.key)
        except redis.RedisError as exc:
            self._outage(exc)
            return None
        self._down = False
        return int(value) if value is not None else 0

    def bump(self) -> None:
        try:
            self._redis.incr(self.key)
        except redis.RedisError as exc:
            self._outage(exc)

    def _outage(self, exc: Exception) -> None:
        if not self._down:
            log.warning("label move notifications unavailable (Redis: %s); label caches expire by TTL", exc)
        self._down = True

    def close(self) -> None:
        self._redis.close()


def label_version(settings: Settings) -> LabelVersion | None:
    """The shared counter when this deployment shares a Redis, else None (single instance: TTL only)."""
    if settings.cache_backend == "redis" or settings.rate_limit_backend == "redis":
        return RedisLabelVersion(settings.redis_url, prefix=settings.redis_prefix)
    return None
