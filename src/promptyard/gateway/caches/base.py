"""The answer-cache seam: one small protocol, one adapter per file.

Backends store :class:`CachedAnswer` records under a key from :mod:`..cache_key`. An entry
is *fresh* until ``expires_at``; backends keep it ``stale_s`` longer so that a rate-limited
provider can be answered with a stale answer, marked as such. Errors and invalid outputs
are never stored (the pipeline only stores validated answers).

Adapters are found through the ``promptyard.answer_caches`` entry-point group; each
module exposes ``create(settings) -> AnswerCache``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import orjson

from promptyard.providers.base import Usage


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """A validated answer, as stored."""

    text: str
    provider: str
    model: str
    parsed: Any = None
    finish_reason: str = "stop"
    usage: Usage | None = None
    cost_usd: float = 0.0
    """What the original call cost: a hit saves this much."""
    prompt: str | None = None
    stored_at: float = 0.0
    expires_at: float = 0.0
    """Epoch seconds after which the entry is stale (still servable when the provider is rate-limited)."""

    def fresh(self, now: float) -> bool:
        return now < self.expires_at

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "text": self.text,
                "provider": self.provider,
                "model": self.model,
                "parsed": self.parsed,
                "finish_reason": self.finish_reason,
                "usage": self.usage.model_dump() if self.usage is not None else None,
                "cost_usd": self.cost_usd,
                "prompt": self.prompt,
                "stored_at": self.stored_at,
                "expires_at": self.expires_at,
            },
            default=str,
        )

    @classmethod
    def from_json(cls, blob: bytes | str) -> CachedAnswer:
        d = orjson.loads(blob)
        usage = d.get("usage")
        return cls(
            text=d["text"],
            provider=d["provider"],
            model=d["model"],
            parsed=d.get("parsed"),
            finish_reason=d.get("finish_reason", "stop"),
            usage=Usage.model_validate(usage) if usage is not None else None,
            cost_usd=float(d.get("cost_usd", 0.0)),
            prompt=d.get("prompt"),
            stored_at=float(d.get("stored_at", 0.0)),
            expires_at=float(d.get("expires_at", 0.0)),
        )


@runtime_checkable
class AnswerCache(Protocol):
    """Where answers live. Methods may raise; the pipeline counts failures and treats them as misses."""

    name: str

    async def get(self, key: str) -> CachedAnswer | None:
        """The entry under ``key``, fresh or stale; ``None`` when absent or past its stale window."""
        ...

    async def set(self, key: str, answer: CachedAnswer) -> None:
        """Store ``answer`` (its ``expires_at`` is set by the caller); replaces any entry under ``key``."""
        ...

    async def delete(self, key: str) -> None: ...

    async def clear(self) -> None:
        """Drop every entry this cache owns."""
        ...

    async def aclose(self) -> None: ...
