"""uvicorn's httptools protocol, sending each response as one socket write.

uvicorn writes the status line and headers when the app sends ``http.response.start`` and
the body on ``http.response.body``: two ``send()`` calls, two loopback deliveries and two
wake-ups of the client for every small JSON answer. :class:`CoalescingTransport` keeps the
writes made during one event-loop step and hands them to the socket in one write at the end
of that step (``loop.call_soon``), so a response leaves as one segment; a stream's chunks
still leave as they are produced, one write per step. ``promptyard serve`` uses it; with
uvicorn directly: ``uvicorn promptyard.server.asgi:app --http promptyard.server.protocol:HttpProtocol``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

IMPORT_STRING = "promptyard.server.protocol:HttpProtocol"


class CoalescingTransport:
    """A transport whose ``write`` calls within one loop step become one write of the real transport."""

    __slots__ = ("_loop", "_parts", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._parts: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._parts:
            self._loop.call_soon(self.flush)
        self._parts.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        if not self._parts:
            return
        data = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self._parts.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._parts))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's ``httptools`` protocol on a :class:`CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
