"""Rate limits: token buckets per API key and per end user, in process or in Redis."""

from __future__ import annotations

from promptyard.gateway.ratelimit.base import Bucket, Charge, RateLimiter
from promptyard.gateway.ratelimit.memory import MemoryRateLimiter
from promptyard.gateway.ratelimit.policy import LimitPolicy
from promptyard.settings import Settings


def create_limiter(settings: Settings) -> RateLimiter:
    """The backend ``PROMPTYARD_RATE_LIMIT_BACKEND`` names."""
    if settings.rate_limit_backend == "redis":
        from promptyard.gateway.ratelimit.redis import RedisRateLimiter

        return RedisRateLimiter(settings.redis_url, prefix=settings.redis_prefix)
    return MemoryRateLimiter()


__all__ = ["Bucket", "Charge", "LimitPolicy", "MemoryRateLimiter", "RateLimiter", "create_limiter"]
