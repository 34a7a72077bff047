"""The rate-limiter seam: token buckets checked and charged atomically, all or nothing.

A :class:`Bucket` holds up to ``capacity`` units and refills at ``per_s`` units a second
(a per-minute limit of N is ``capacity=N, per_s=N/60``). A request charges several
buckets at once (requests and tokens, per API key and per end user): either every
bucket has room and all are charged, or none is and :class:`RateLimitExceeded` says
how long to wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from promptyard.errors import RateLimitExceeded


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    """Storage key, e.g. ``key:k_123:rpm``."""
    capacity: float
    per_s: float
    description: str
    """For error messages: ``60 requests per minute for API key k_123``."""


Charge = tuple[Bucket, float]
"""A bucket and the units to take from it."""


def exceeded(bucket: Bucket, wait_s: float) -> RateLimitExceeded:
    return RateLimitExceeded(f"rate limit exceeded: {bucket.description}; retry in {wait_s:.1f} s", retry_after=wait_s)


class RateLimiter(Protocol):
    name: str

    async def acquire(self, charges: Sequence[Charge]) -> None:
        """Take every charge, or none and raise :class:`RateLimitExceeded` with ``retry_after``.

        A charge larger than its bucket's capacity waits for a full bucket (and then takes it
        into the negative) instead of being refused forever.
        """
        ...

    async def debit(self, charges: Sequence[Charge]) -> None:
        """Take (or, with negative units, give back) units unconditionally: the actual token
        count of a finished call, corrected against the estimate taken by ``acquire``."""
        ...

    async def aclose(self) -> None: ...
