"""What a running instance saw of its dependencies (the database, Redis) failing.

Process-wide counters, exported on ``/metrics`` as ``promptyard_dependency_<counter>_total``.
Each feature's behaviour while a dependency is down is documented in ``docs/scale-out.md``;
every failure is counted here or in the gateway's own counters, and logged.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

log = logging.getLogger("promptyard.dependencies")


@dataclass(slots=True)
class DependencyStats:
    database_errors: int = 0
    """Requests that failed with 503 because the database was unreachable."""
    database_stale_served: int = 0
    """Reads answered from the last known value while the database was unreachable (API keys, label targets)."""
    redis_errors: int = 0
    """Requests refused with 503 because Redis was unreachable (rate limits set to fail closed)."""

    def snapshot(self) -> dict[str, int]:
        return asdict(self)


STATS = DependencyStats()
_last_log: dict[str, float] = {}


def failed(dependency: str, what: str, exc: BaseException, *, every_s: float = 5.0) -> None:
    """Log a dependency failure, at most once per ``every_s`` per dependency and situation."""
    key = f"{dependency}:{what}"
    now = time.monotonic()
    if now - _last_log.get(key, -every_s) >= every_s:
        _last_log[key] = now
        log.warning("%s unreachable (%s): %s: %s", dependency, what, type(exc).__name__, exc)


def served_stale(what: str, exc: BaseException) -> None:
    """The database is down and ``what`` was answered from its last known value: logged and counted."""
    failed("database", what, exc)
    STATS.database_stale_served += 1
