"""Answer caches: the protocol in ``base.py``, one backend per file, found through entry points."""

from __future__ import annotations

from promptyard import plugins
from promptyard.gateway.caches.base import AnswerCache, CachedAnswer
from promptyard.settings import Settings

GROUP = "promptyard.answer_caches"


def create_cache(settings: Settings) -> AnswerCache | None:
    """The backend ``PROMPTYARD_CACHE_BACKEND`` names, or ``None`` for ``none``."""
    if settings.cache_backend == "none":
        return None
    cache: AnswerCache = plugins.get(GROUP, settings.cache_backend)(settings)
    return cache


__all__ = ["GROUP", "AnswerCache", "CachedAnswer", "create_cache"]
