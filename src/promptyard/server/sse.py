"""Server-sent events for gateway streams, with cancellation on client disconnect.

:class:`EventStreamResponse` watches the connection while it streams. When the client
goes away, the task pulling from the gateway stream is cancelled at once (which cancels
the provider call under it), then the gateway stream is closed under a shield so the
gateway can still write the trace (status ``cancelled``).

:func:`prime` pulls the first event before any byte is sent, so errors that happen
before the model says anything (unknown model, rate limit, budget) keep their real
HTTP status instead of turning into an in-stream error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import anyio
import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from promptyard.gateway.base import GatewayStream
from promptyard.providers.base import StreamEvent

log = logging.getLogger(__name__)

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
DONE = b"data: [DONE]\n\n"


def data_line(obj: Any) -> bytes:
    """One SSE ``data:`` event (OpenAI style)."""
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def named_event(event: str, obj: Any) -> bytes:
    """One SSE event with an ``event:`` name."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(obj) + b"\n\n"


async def close_quietly(stream: GatewayStream) -> None:
    """Close a gateway stream even inside a cancelled scope; never raises."""
    with anyio.CancelScope(shield=True):
        try:
            await stream.aclose()
        except Exception:
            log.exception("closing a gateway stream failed")


class Primed:
    """A gateway stream whose first event has already been pulled."""

    def __init__(self, stream: GatewayStream, iterator: AsyncIterator[StreamEvent], first: StreamEvent | None) -> None:
        self.stream = stream
        self._iterator = iterator
        self._first = first

    async def events(self) -> AsyncIterator[StreamEvent]:
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        async for event in self._iterator:
            yield event


async def prime(stream: GatewayStream) -> Primed:
    """Pull the first event; on failure close the stream and re-raise (a normal HTTP error follows)."""
    iterator = stream.__aiter__()
    try:
        first: StreamEvent | None = await iterator.__anext__()
    except StopAsyncIteration:
        first = None
    except BaseException:
        await close_quietly(stream)
        raise
    return Primed(stream, iterator, first)


class EventStreamResponse(Response):
    """Streams ``chunks`` as ``text/event-stream``; runs ``on_close`` however the stream ends.

    The chunks are pumped in their own task while this one watches the connection. A
    disconnect cancels the pump task once (plain asyncio cancellation, delivered a single
    time), so the gateway's own clean-up (spend, rate-limit settlement, the ``cancelled``
    trace) can still await what it needs before ``on_close`` runs.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        on_close: Callable[[], Awaitable[None]],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.chunks = chunks
        self.on_close = on_close
        self.status_code = 200
        self.background = None
        self.init_headers({**SSE_HEADERS, **(headers or {})})
        self.disconnected = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pump = asyncio.ensure_future(self._pump(send))
        watch = asyncio.ensure_future(self._watch(receive))
        try:
            await asyncio.wait((pump, watch), return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
            if not pump.done():
                pump.cancel()
            try:
                await asyncio.wait((pump,))  # let the pump finish its clean-up
            finally:
                with anyio.CancelScope(shield=True):
                    await self.on_close()
        if not pump.cancelled() and (exc := pump.exception()) is not None and not isinstance(exc, OSError):
            raise exc

    async def _pump(self, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            async for chunk in self.chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the client went away under a send
            self.disconnected = True
        finally:
            aclose = getattr(self.chunks, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                return
