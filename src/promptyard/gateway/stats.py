"""Counters the gateway keeps: cheap integer increments, read by the metrics exporter.

Nothing here formats strings or takes locks: the gateway runs on one event loop, and an
``int`` increment is all the hot path pays.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(slots=True)
class GatewayStats:
    calls: int = 0
    errors: int = 0
    cancelled: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    cache_stale_served: int = 0
    cache_errors: int = 0
    """Answer-cache backend failures (treated as misses, never as request failures)."""
    coalesced: int = 0
    """Requests answered by another identical in-flight request (single-flight)."""
    coalesced_remote: int = 0
    """Of those, answered by an identical request in flight on another instance (Redis lease)."""
    flight_errors: int = 0
    """Shared single-flight unavailable (Redis down): the call ran with local single-flight only."""
    provider_calls: int = 0
    retries: int = 0
    fallbacks: int = 0
    degraded: int = 0
    outages: int = 0
    """Calls that ended in ``ProviderUnavailable`` after retries and fallbacks."""
    timeouts: int = 0
    output_retries: int = 0
    output_invalid: int = 0
    rate_limited: int = 0
    """Requests refused by promptyard's own rate limits."""
    limiter_errors: int = 0
    """Rate-limit backend failures (the request is let through and the failure counted)."""
    budget_refused: int = 0
    budget_warnings: int = 0
    budget_errors: int = 0
    spend_flush_errors: int = 0
    trace_errors: int = 0

    def snapshot(self) -> dict[str, int]:
        """Every counter by name (for ``/metrics`` and tests)."""
        return asdict(self)
