"""HTTP clients for the provider adapters: a lean keep-alive HTTP/1.1 client and httpx.

Both implement :class:`HttpClient` (POST a body, or stream a response) and raise only
:class:`TransportError` / :class:`TransportTimeout`, which the adapters translate.

* :class:`FastClient`: asyncio streams + ``httptools`` (llhttp, in C) for parsing, a LIFO
  pool of keep-alive connections, TLS through :mod:`ssl`. It does one thing, so a whole
  ``OpenAIProvider.complete`` costs about 60 µs of CPU with it and about 720 µs with
  ``httpx.AsyncClient`` (``bench/openai_adapter.py``): the difference is most of the
  gateway's 1 ms overhead budget. A request that fails on a reused keep-alive connection
  before any response byte arrived (the server had closed it) is sent once more on a new one.
* :class:`HttpxClient`: ``httpx.AsyncClient`` (honours proxy environment variables).

``PROMPTYARD_HTTP_CLIENT=auto`` (the default) uses the fast client unless a proxy from the
environment applies to the base URL; ``fast`` or ``httpx`` force one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.request
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Literal, Protocol
from urllib.parse import urlsplit

import httptools
import httpx

ClientKind = Literal["auto", "fast", "httpx"]
Headers = dict[str, str]
"""Response headers, names lower-cased, repeated headers joined with ", "."""


class TransportError(Exception):
    """The connection failed or broke (no usable HTTP response)."""


class TransportTimeout(TransportError):
    """Connecting or reading took longer than the timeout."""


class HttpResponse(Protocol):
    status: int
    headers: Headers

    async def read(self) -> bytes: ...

    def aiter_bytes(self) -> AsyncIterator[bytes]: ...


class HttpClient(Protocol):
    async def post(
        self, path: str, content: bytes, headers: Mapping[str, str] | None = None, read_timeout_s: float | None = None
    ) -> tuple[int, Headers, bytes]: ...

    def stream(
        self, path: str, content: bytes, headers: Mapping[str, str] | None = None, read_timeout_s: float | None = None
    ) -> AbstractAsyncContextManager[HttpResponse]: ...

    async def aclose(self) -> None: ...


# ---- the fast client ---------------------------------------------------------------------
class _Response:
    """One response being parsed from a connection; ``httptools`` calls the ``on_*`` hooks."""

    def __init__(self, conn: _Connection, timeout: float | None) -> None:
        self.conn = conn
        self.timeout = timeout
        self.status = 0
        self.headers: Headers = {}
        self.headers_done = False
        self.complete = False
        self.chunks: deque[bytes] = deque()
        self.parser = httptools.HttpResponseParser(self)
        self.received = False
        self.keep_alive = False

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.headers_done = True
        # Decided here: llhttp answers False once the message is complete.
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.complete = True

    async def _feed(self) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                data = await self.conn.reader.read(65536)
        except TimeoutError:
            raise TransportTimeout(f"read timed out after {self.timeout:g}s") from None
        except OSError as exc:
            raise TransportError(f"connection broke: {exc}") from exc
        if not data:
            if (
                self.headers_done
                and "content-length" not in self.headers
                and "chunked" not in self.headers.get("transfer-encoding", "")
            ):
                self.complete = True  # a body delimited by the connection closing
                self.conn.reusable = False
                return
            raise TransportError("the server closed the connection mid-response")
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            raise TransportError(f"malformed HTTP response: {exc}") from exc

    async def read_head(self) -> None:
        while not self.headers_done:
            await self._feed()

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        while True:
            while self.chunks:
                yield self.chunks.popleft()
            if self.complete:
                return
            await self._feed()

    async def read(self) -> bytes:
        parts = [chunk async for chunk in self.aiter_bytes()]
        return parts[0] if len(parts) == 1 else b"".join(parts)


class _Connection:
    __slots__ = ("loop", "reader", "reusable", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.loop = asyncio.get_running_loop()
        self.reusable = True

    def usable(self) -> bool:
        return (
            self.reusable
            and self.loop is asyncio.get_running_loop()
            and not self.writer.is_closing()
            and not self.reader.at_eof()
        )

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # its event loop is already closed
            self.writer.transport.abort()


class FastClient:
    """A minimal keep-alive HTTP/1.1 client for one base URL."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        timeout_s: float = 15.0,
        connect_timeout_s: float = 5.0,
        max_idle: int = 100,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        self.prefix = parts.path.encode()
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.max_idle = max_idle
        netloc = self.host if parts.port is None else f"{self.host}:{self.port}"
        base_headers = {"host": netloc, "accept-encoding": "identity", "user-agent": "promptyard", **headers}
        self._head = "".join(f"{k}: {v}\r\n" for k, v in base_headers.items()).encode("latin-1")
        self._idle: list[_Connection] = []
        self._closed = False
        self.connections_opened = 0

    async def _connect(self) -> _Connection:
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, ssl=self.ssl, server_hostname=self.host if self.ssl else None, limit=2**20
                )
        except TimeoutError:
            raise TransportTimeout(f"connect to {self.host}:{self.port} timed out") from None
        except OSError as exc:
            raise TransportError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        self.connections_opened += 1
        return _Connection(reader, writer)

    def _acquire(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    def _release(self, conn: _Connection, response: _Response) -> None:
        if (
            response.complete
            and conn.reusable
            and response.keep_alive
            and not self._closed
            and len(self._idle) < self.max_idle
        ):
            self._idle.append(conn)
        else:
            conn.close()

    def _request(self, path: str, content: bytes, headers: Mapping[str, str] | None) -> bytes:
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1") if headers else b""
        return b"".join(
            (
                b"POST ",
                self.prefix,
                path.encode(),
                b" HTTP/1.1\r\n",
                self._head,
                extra,
                b"content-length: %d\r\n\r\n" % len(content),
                content,
            )
        )

    async def _start(
        self, path: str, content: bytes, headers: Mapping[str, str] | None, read_timeout_s: float | None
    ) -> _Response:
        if self._closed:
            raise TransportError("the HTTP client is closed")
        data = self._request(path, content, headers)
        read_timeout = self.timeout_s if read_timeout_s is None else read_timeout_s
        reused = self._acquire()
        for attempt in (0, 1):
            conn = reused if (attempt == 0 and reused is not None) else await self._connect()
            response = _Response(conn, read_timeout)
            try:
                conn.writer.write(data)
                await response.read_head()
                return response
            except TransportTimeout:
                conn.close()
                raise
            except TransportError:
                conn.close()
                # A kept-alive connection the server had already closed: retry once, fresh.
                if conn is reused and not response.received:
                    continue
                raise
            except BaseException:
                conn.close()
                raise
        raise TransportError("unreachable")  # pragma: no cover

    async def post(
        self, path: str, content: bytes, headers: Mapping[str, str] | None = None, read_timeout_s: float | None = None
    ) -> tuple[int, Headers, bytes]:
        response = await self._start(path, content, headers, read_timeout_s)
        try:
            body = await response.read()
        except BaseException:
            response.conn.close()
            raise
        self._release(response.conn, response)
        return response.status, response.headers, body

    @asynccontextmanager
    async def stream(
        self, path: str, content: bytes, headers: Mapping[str, str] | None = None, read_timeout_s: float | None = None
    ) -> AsyncIterator[HttpResponse]:
        response = await self._start(path, content, headers, read_timeout_s)
        try:
            yield response
        except BaseException:
            response.conn.close()
            raise
        self._release(response.conn, response)

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


# ---- httpx ------------------------------------------------------------------------------------
class _HttpxResponse:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.headers: Headers = {k.lower(): v for k, v in response.headers.items()}

    async def read(self) -> bytes:
        try:
            return await self._response.aread()
        except httpx.HTTPError as exc:
            raise _translate(exc) from exc

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes():
                yield chunk
        except httpx.HTTPError as exc:
            raise _translate(exc) from exc


def _translate(exc: httpx.HTTPError) -> TransportError:
    if isinstance(exc, httpx.TimeoutException):
        return TransportTimeout(f"{exc.__class__.__name__}: {exc}")
    return TransportError(f"{exc.__class__.__name__}: {exc}")


class HttpxClient:
    """``httpx.AsyncClient`` behind the same interface (proxies from the environment work)."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        timeout_s: float = 15.0,
        connect_timeout_s: float = 5.0,
        max_connections: int = 200,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=dict(headers),
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    async def post(
        self, path: str, content: bytes, headers: Mapping[str, str] | None = None, read_timeout_s: float | None = None
    ) -> tuple[int, Headers, bytes]:
        try:
            response = await self._client.post(
                path, content=content, headers=headers, timeout=_timeout(read_timeout_s) or httpx.USE_CLIENT_DEFAULT
            )
        except httpx.HTTPError as exc:
            raise _translate(exc) from exc
        return response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content

    @asynccontextmanager
    async def stream(
        self, path: str, content: bytes, headers: Mapping[str, str] | None = None, read_timeout_s: float | None = None
    ) -> AsyncIterator[HttpResponse]:
        try:
            async with self._client.stream(
                "POST",
                path,
                content=content,
                headers=headers,
                timeout=_timeout(read_timeout_s) or httpx.USE_CLIENT_DEFAULT,
            ) as response:
                yield _HttpxResponse(response)
        except httpx.HTTPError as exc:
            raise _translate(exc) from exc

    async def aclose(self) -> None:
        await self._client.aclose()


def _timeout(timeout_s: float | None) -> httpx.Timeout | None:
    return None if timeout_s is None else httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))


def proxied(base_url: str) -> bool:
    """True when a proxy from the environment (``HTTPS_PROXY`` ...) applies to ``base_url``."""
    parts = urlsplit(base_url)
    proxies = urllib.request.getproxies()
    if not proxies.get(parts.scheme) and not proxies.get("all"):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


def make_client(
    kind: ClientKind, base_url: str, headers: Mapping[str, str], *, timeout_s: float, connect_timeout_s: float
) -> HttpClient:
    """The client for ``kind`` (``auto``: fast unless a proxy applies)."""
    if kind == "httpx" or (kind == "auto" and proxied(base_url)):
        return HttpxClient(base_url, headers, timeout_s=timeout_s, connect_timeout_s=connect_timeout_s)
    return FastClient(base_url, headers, timeout_s=timeout_s, connect_timeout_s=connect_timeout_s)
