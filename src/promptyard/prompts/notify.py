"""Label moves reach every instance within a fraction of a second, not only after the cache TTL.

Each instance caches resolved label targets for ``PROMPTYARD_LABEL_CACHE_TTL_S``. With Redis
configured (answer cache or rate limits in Redis), a label move also increments one counter,
``<prefix>labels:version``. A watcher thread reads that counter every ``POLL_S`` (one ``GET``)
and keeps the last value; the registry compares it while it resolves labels, a memory read, and
drops its cached targets when it changed. So no Redis round trip, and no Redis timeout when
Redis is down, ever sits on the request path. When Redis is unreachable the registry falls back
to the TTL and the watcher reads again every ``RETRY_S`` (logged once per outage). The watcher
stops when nobody asked for ``IDLE_S`` (or the counter is gone) and starts again on the next ask.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Protocol

import redis

from promptyard.redis_client import sync_client
from promptyard.settings import Settings

log = logging.getLogger("promptyard.prompts")

POLL_S = 0.1
RETRY_S = 1.0
IDLE_S = 30.0


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
        self._value: int | None = None
        self._asked = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def current(self) -> int | None:
        """The counter as the watcher last read it; the first ask (or one after an idle stop) reads it now."""
        self._asked = time.monotonic()
        if self._stop.is_set():
            return None
        if self._watcher is None or not self._watcher.is_alive():  # also after a fork: threads do not follow
            with self._lock:
                if self._watcher is None or not self._watcher.is_alive():
                    self._value = self._read()
                    self._watcher = threading.Thread(
                        target=_watch, args=(weakref.ref(self), self._stop), name="promptyard-label-watch", daemon=True
                    )
                    self._watcher.start()
        return self._value

    def _read(self) -> int | None:
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
        self._stop.set()
        self._redis.close()


def _watch(ref: weakref.ref[RedisLabelVersion], stop: threading.Event) -> None:
    """Refresh the counter until it is closed, collected or idle; holds it only while reading."""
    while True:
        counter = ref()
        if counter is None or time.monotonic() - counter._asked > IDLE_S:
            return
        counter._value = counter._read()
        pause = POLL_S if counter._value is not None else RETRY_S
        del counter
        if stop.wait(pause):
            return


def label_version(settings: Settings) -> LabelVersion | None:
    """The shared counter when this deployment shares a Redis, else None (single instance: TTL only)."""
    if settings.cache_backend == "redis" or settings.rate_limit_backend == "redis":
        return RedisLabelVersion(settings.redis_url, prefix=settings.redis_prefix)
    return None
