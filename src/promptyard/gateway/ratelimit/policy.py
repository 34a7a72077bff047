"""Which buckets a call charges: requests and tokens per minute, per API key and per end user."""

from __future__ import annotations

from dataclasses import dataclass, field

from promptyard.gateway.base import CallContext
from promptyard.gateway.ratelimit.base import Bucket, Charge
from promptyard.settings import Settings

_MAX_CALLERS = 100_000


@dataclass(slots=True)
class LimitPolicy:
    key_rpm: int | None = None
    key_tpm: int | None = None
    user_rpm: int | None = None
    user_tpm: int | None = None
    _buckets: dict[tuple[str, str], tuple[Bucket | None, Bucket | None]] = field(default_factory=dict, repr=False)
    """(scope, id) -> (requests bucket, tokens bucket), built once per caller."""

    @classmethod
    def from_settings(cls, settings: Settings) -> LimitPolicy:
        return cls(
            key_rpm=settings.rate_limit_key_rpm,
            key_tpm=settings.rate_limit_key_tpm,
            user_rpm=settings.rate_limit_user_rpm,
            user_tpm=settings.rate_limit_user_tpm,
        )

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.key_rpm, self.key_tpm, self.user_rpm, self.user_tpm))

    def charges(self, ctx: CallContext, est_tokens: int) -> tuple[list[Charge], list[Bucket]]:
        """The charges to acquire before a call, and the token buckets to correct after it."""
        charges: list[Charge] = []
        token_buckets: list[Bucket] = []
        for scope, ident in (("key", ctx.api_key_id), ("user", ctx.end_user)):
            if ident is None:
                continue
            requests, tokens = self._buckets_for(scope, ident)
            if requests is not None:
                charges.append((requests, 1))
            if tokens is not None:
                charges.append((tokens, est_tokens))
                token_buckets.append(tokens)
        return charges, token_buckets

    def _buckets_for(self, scope: str, ident: str) -> tuple[Bucket | None, Bucket | None]:
        found = self._buckets.get((scope, ident))
        if found is None:
            who = "API key" if scope == "key" else "end user"
            rpm, tpm = (self.key_rpm, self.key_tpm) if scope == "key" else (self.user_rpm, self.user_tpm)
            found = (
                _bucket(f"{scope}:{ident}:rpm", rpm, f"{rpm} requests per minute for {who} {ident}") if rpm else None,
                _bucket(f"{scope}:{ident}:tpm", tpm, f"{tpm} tokens per minute for {who} {ident}") if tpm else None,
            )
            if len(self._buckets) >= _MAX_CALLERS:
                self._buckets.clear()
            self._buckets[(scope, ident)] = found
        return found


def _bucket(key: str, per_minute: int, description: str) -> Bucket:
    return Bucket(key=key, capacity=float(per_minute), per_s=per_minute / 60.0, description=description)
