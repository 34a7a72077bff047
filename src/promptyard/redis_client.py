"""Redis clients built one way for every feature (cache, rate limits, budgets, single-flight, labels).

A pooled connection left over from before a Redis restart fails on its next command ("Connection
closed by server"): the command is retried once on a fresh connection, so a restarted Redis is
used again at once instead of failing one request per stale connection. Timeouts are short: a
Redis that hangs degrades each feature as documented (docs/scale-out.md) instead of hanging calls.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

CONNECT_TIMEOUT_S = 1.0
COMMAND_TIMEOUT_S = 2.0


def _options() -> dict[str, Any]:
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_timeout": COMMAND_TIMEOUT_S,
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }


def async_client(url: str) -> aioredis.Redis:
    from redis.asyncio.retry import Retry

    return aioredis.Redis.from_url(url, retry=Retry(NoBackoff(), 1), **_options())


def sync_client(url: str, *, timeout_s: float = 0.2) -> redis.Redis:
    from redis.retry import Retry

    options = {**_options(), "socket_connect_timeout": timeout_s, "socket_timeout": timeout_s}
    return redis.Redis.from_url(url, retry=Retry(NoBackoff(), 1), **options)
