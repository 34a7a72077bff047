"""What the HTTP adapters share: the endpoint (base URL, auth headers, one pooled client),
an SSE reader, and the one translation of HTTP failures into :mod:`promptyard.errors`.

Error mapping (every HTTP adapter, once, at the boundary)::

    429                         -> RateLimited(retry_after from retry-after-ms / Retry-After)
    408, read/connect timeouts  -> ProviderTimeout
    5xx, 529, connection errors -> ProviderUnavailable
    other 4xx                   -> BadRequest (not retried)

In-stream error events are mapped by their ``error.type`` with :func:`error_from_type`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from promptyard.errors import BadRequest, ProviderError, ProviderTimeout, ProviderUnavailable, RateLimited
from promptyard.providers.transport import ClientKind, HttpClient, TransportError, TransportTimeout, make_client

JSONDict = dict[str, Any]


# ---- endpoint -------------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach a vendor: base URL, auth headers, timeouts. Owns no state."""

    base_url: str
    headers: Mapping[str, str]
    timeout_s: float = 15.0
    connect_timeout_s: float = 5.0
    client_kind: ClientKind = "auto"

    def client(self) -> HttpClient:
        """One pooled keep-alive client; create it once per provider instance."""
        headers = {"content-type": "application/json", **self.headers}
        return make_client(
            self.client_kind,
            self.base_url,
            headers,
            timeout_s=self.timeout_s,
            connect_timeout_s=self.connect_timeout_s,
        )


# ---- Retry-After ----------------------------------------------------------------------
def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


# ---- error translation ----------------------------------------------------------------
def error_message(body: bytes, status: int | None = None) -> str:
    """The vendor's own message from an error body (``{"error": {"message": ...}}``)."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if isinstance(data.get("message"), str):
            return str(data["message"])
    text = body[:300].decode("utf-8", "replace").strip()
    return text or (f"HTTP {status}" if status else "no error body")


def error_from_status(provider: str, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    """Translate a non-2xx HTTP response (``headers`` with lower-cased names)."""
    message = f"{provider}: HTTP {status}: {error_message(body, status)}"
    if status == 429:
        return RateLimited(message, retry_after=parse_retry_after(headers), provider=provider, status=status)
    if status == 408:
        return ProviderTimeout(message, provider=provider, status=status)
    if status >= 500:
        return ProviderUnavailable(message, provider=provider, status=status)
    return BadRequest(message, provider=provider, status=status)


_UNAVAILABLE_TYPES = {"overloaded_error", "api_error", "server_error", "service_unavailable", "internal_error"}
_RATE_TYPES = {"rate_limit_error", "rate_limit_exceeded", "tokens", "requests", "insufficient_quota_retry"}
_TIMEOUT_TYPES = {"timeout_error", "timeout"}


def error_from_type(
    provider: str, kind: str | None, message: str, *, retry_after: float | None = None
) -> ProviderError:
    """Translate an in-stream error event by its vendor ``type`` (or ``code``)."""
    kind = (kind or "").lower()
    text = f"{provider}: stream error {kind or 'unknown'}: {message}"
    if kind in _RATE_TYPES:
        return RateLimited(text, retry_after=retry_after, provider=provider)
    if kind in _TIMEOUT_TYPES:
        return ProviderTimeout(text, provider=provider)
    if kind.endswith("invalid_request_error") or kind in {
        "authentication_error",
        "permission_error",
        "not_found_error",
    }:
        return BadRequest(text, provider=provider)
    if kind in _UNAVAILABLE_TYPES:
        return ProviderUnavailable(text, provider=provider)
    # A stream that broke mid-way for an unknown reason is most likely transient.
    return ProviderUnavailable(text, provider=provider)


def transport_error(provider: str, exc: TransportError) -> ProviderError:
    """Translate a transport failure (no HTTP status)."""
    if isinstance(exc, TransportTimeout):
        return ProviderTimeout(f"{provider}: timed out ({exc})", provider=provider)
    return ProviderUnavailable(f"{provider}: connection failed: {exc}", provider=provider)


# ---- SSE ----------------------------------------------------------------------------------
async def iter_sse(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[str, bytes]]:
    """Yield ``(event, data)`` for each server-sent event (``event`` is "" when unnamed).

    Follows the SSE framing rules: lines end in LF or CRLF, ``:`` lines are comments,
    several ``data:`` lines are joined with LF, a blank line dispatches the event.
    """
    buffer = b""
    event = ""
    data: list[bytes] = []
    async for chunk in chunks:
        buffer += chunk
        while True:
            newline = buffer.find(b"\n")
            if newline < 0:
                break
            line = buffer[:newline]
            buffer = buffer[newline + 1 :]
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    yield event, b"\n".join(data)
                event, data = "", []
                continue
            if line.startswith(b":"):
                continue
            field, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if field == b"data":
                data.append(value)
            elif field == b"event":
                event = value.decode("utf-8", "replace")
    if buffer.strip():
        field, _, value = buffer.rstrip(b"\r\n").partition(b":")
        if field == b"data":
            data.append(value[1:] if value.startswith(b" ") else value)
    if data:
        yield event, b"\n".join(data)


def loads(data: bytes) -> Any:
    """Parse JSON from the wire; orjson tolerates the trailing spaces some servers send."""
    return orjson.loads(data)
