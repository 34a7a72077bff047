"""The prompt's fallback chain: which model to try next when one fails.

A fallback is tried only when the failure is one of its ``on`` triggers (rate_limited,
unavailable, timeout); one whose provider is not configured here is skipped. A fallback
marked ``degraded`` (a lesser model) is used only when the prompt's
``model.allow_degraded`` is true; a response it produced is marked ``degraded``. Other
errors (bad request, invalid output) never trigger a fallback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from promptyard.errors import (
    ConfigError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    UnknownModel,
)
from promptyard.prompts.model import Fallback, FallbackTrigger

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Target:
    """A provider adapter name and the provider's own model name."""

    provider: str
    model: str
    degraded: bool = False

    @property
    def ref(self) -> str:
        return f"{self.provider}/{self.model}"


def parse_target(ref: str, *, degraded: bool = False) -> Target:
    """``provider/model`` -> Target. The model part may itself contain slashes."""
    provider, sep, model = ref.partition("/")
    if not sep or not provider or not model:
        raise UnknownModel(f"model {ref!r} must be written provider/model (e.g. local/smollm2-135m-instruct)")
    return Target(provider, model, degraded)


def trigger_of(exc: BaseException) -> FallbackTrigger | None:
    if isinstance(exc, RateLimited):
        return "rate_limited"
    if isinstance(exc, ProviderUnavailable):
        return "unavailable"
    if isinstance(exc, ProviderTimeout):
        return "timeout"
    return None


@dataclass(slots=True)
class FallbackOutcome:
    """What the chain did: the error that started it, and the fallbacks it skipped."""

    primary_error: ProviderError | None = None
    skipped_degraded: list[str] | None = None
    skipped_unconfigured: list[str] | None = None
    """Fallbacks whose provider is not configured here (no API key, failed to load)."""


async def with_fallbacks(
    attempt: Callable[[Target], Awaitable[T]],
    primary: Target,
    fallbacks: Sequence[Fallback],
    *,
    allow_degraded: bool,
    outcome: FallbackOutcome,
    on_fallback: Callable[[Target, ProviderError], None] | None = None,
) -> tuple[T, Target]:
    """Run ``attempt(primary)``; on a triggering failure walk the eligible fallbacks in order.

    Raises the primary's error when every eligible fallback failed too (or none was eligible):
    the primary's failure is what the caller's failure behaviour is based on.
    """
    try:
        return await attempt(primary), primary
    except ProviderError as exc:
        trigger = trigger_of(exc)
        if trigger is None or not fallbacks:
            raise
        outcome.primary_error = primary_error = exc
        last: ProviderError = exc
    for fb in fallbacks:
        if trigger not in fb.on:
            continue
        if fb.degraded and not allow_degraded:
            outcome.skipped_degraded = [*(outcome.skipped_degraded or []), fb.model]
            continue
        target = parse_target(fb.model, degraded=fb.degraded)
        if on_fallback is not None:
            on_fallback(target, last)
        try:
            return await attempt(target), target
        except (UnknownModel, ConfigError):
            outcome.skipped_unconfigured = [*(outcome.skipped_unconfigured or []), fb.model]
            continue
        except ProviderError as exc:
            next_trigger = trigger_of(exc)
            if next_trigger is None:
                raise
            last, trigger = exc, next_trigger
    raise primary_error
