"""Test helpers shipped with the package: fakes for every seam and adapter contract suites.

Providers: :class:`FakeProvider` and its step builders (``reply``, ``rate_limited``,
``hang``, ...); the contract suite lives in :mod:`promptyard.testing.provider_contract`
(import it from a test module: it needs pytest). :func:`registered_provider` puts a
fake behind the real registry for the length of a ``with`` block.
"""

from promptyard.providers.fake import (
    FakeProvider,
    Step,
    bad_request,
    echo,
    hang,
    json_reply,
    malformed_json,
    overloaded,
    rate_limited,
    reply,
    slow_stream,
    stream_error,
    timeout,
    unavailable,
)
from promptyard.testing.registration import registered, registered_provider

__all__ = [
    "FakeProvider",
    "Step",
    "bad_request",
    "echo",
    "hang",
    "json_reply",
    "malformed_json",
    "overloaded",
    "rate_limited",
    "registered",
    "registered_provider",
    "reply",
    "slow_stream",
    "stream_error",
    "timeout",
    "unavailable",
]
