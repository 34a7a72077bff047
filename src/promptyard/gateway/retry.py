"""Retries around one provider: exponential backoff with full jitter, honouring Retry-After.

Only errors marked ``retryable`` (rate limited, unavailable, timeout) are retried. A
``Retry-After`` from the provider is waited out exactly, unless it is longer than
``max_s``: then waiting less would only earn another 429, so the error is passed on at
once (to the fallback chain, or to a stale cached answer).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from promptyard.errors import ProviderError

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
OnRetry = Callable[[int, ProviderError, float], None]
"""Called before each retry with (retry number from 1, the error, the delay in seconds)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 2
    base_s: float = 0.25
    max_s: float = 8.0

    def delay(self, retry: int, exc: BaseException, rand: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before retry number ``retry`` (from 1), or ``None`` when it must not happen."""
        if retry > self.max_retries or not isinstance(exc, ProviderError) or not exc.retryable:
            return None
        retry_after: float | None = getattr(exc, "retry_after", None)
        if retry_after is not None:
            if retry_after > self.max_s:
                return None
            return max(0.0, float(retry_after))
        return rand() * min(self.max_s, self.base_s * 2.0 ** (retry - 1))


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Sleep = asyncio.sleep,
    rand: Callable[[], float] = random.random,
    on_retry: OnRetry | None = None,
) -> T:
    """Await ``call()``; on a retryable :class:`ProviderError`, back off and call again."""
    retry = 0
    while True:
        try:
            return await call()
        except ProviderError as exc:
            retry += 1
            wait = policy.delay(retry, exc, rand)
            if wait is None:
                raise
            if on_retry is not None:
                on_retry(retry, exc, wait)
            if wait > 0:
                await sleep(wait)
