"""The fast HTTP/1.1 client: keep-alive reuse, broken connections, timeouts, TLS, loop changes."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from promptyard.chat import ChatMessage
from promptyard.errors import ProviderTimeout, ProviderUnavailable
from promptyard.providers import openai
from promptyard.providers.base import CompletionRequest
from promptyard.providers.transport import FastClient, HttpxClient, TransportError, TransportTimeout, proxied
from promptyard.settings import load_settings
from tests.providers.replay_server import ReplayServer

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b'{"ok": true}'


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
    )
    return head + await reader.readexactly(length)


@asynccontextmanager
async def raw_server(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ssl_context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def response(body: bytes = OK, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s" % (
        len(body),
        extra,
        body,
    )


async def test_keep_alive_connection_is_reused(replay: ReplayServer) -> None:
    client = FastClient(f"{replay.url}/openai/v1", {"authorization": "Bearer x"})
    body = b'{"model": "gpt-4o-mini", "messages": []}'
    for _ in range(5):
        status, headers, data = await client.post("/chat/completions", body)
        assert status == 200
        assert headers["x-request-id"].startswith("req_")
        assert b"chat.completion" in data
    stream_body = b'{"model": "gpt-4o-mini", "stream": true}'
    for _ in range(3):
        async with client.stream("/chat/completions", stream_body) as streamed:
            assert streamed.headers["content-type"].startswith("text/event-stream")
            assert b"[DONE]" in await streamed.read()
    assert client.connections_opened == 1
    await client.aclose()


async def test_a_stream_left_early_is_not_reused(replay: ReplayServer) -> None:
    client = FastClient(f"{replay.url}/openai/v1", {})
    async with client.stream("/chat/completions", b'{"model": "gpt-4o-mini", "stream": true}') as streamed:
        first = await anext(aiter(streamed.aiter_bytes()))
        assert first
    status, _, _ = await client.post("/chat/completions", b'{"model": "gpt-4o-mini"}')
    assert status == 200
    assert client.connections_opened == 2
    await client.aclose()


async def test_server_closing_after_each_response() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(response())  # keep-alive by default, then hang up anyway
        await writer.drain()
        writer.close()

    async with raw_server(handler) as port:
        client = FastClient(f"http://127.0.0.1:{port}", {})
        for _ in range(3):
            assert (await client.post("/x", b"{}"))[2] == OK
        assert client.connections_opened == 3
        await client.aclose()


async def test_stale_keep_alive_connection_is_retried_once() -> None:
    served = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        await read_request(reader)
        served += 1
        writer.write(response())
        await writer.drain()
        await read_request(reader)  # the second request on this connection is dropped unanswered
        writer.close()

    async with raw_server(handler) as port:
        client = FastClient(f"http://127.0.0.1:{port}", {})
        assert (await client.post("/x", b"{}"))[2] == OK
        assert (await client.post("/x", b"{}"))[2] == OK  # retried on a fresh connection
        assert served == 2
        assert client.connections_opened == 2
        await client.aclose()


async def test_body_delimited_by_close_and_chunked_body() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        if b"/close" in request:
            writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        await writer.drain()
        writer.close()

    async with raw_server(handler) as port:
        client = FastClient(f"http://127.0.0.1:{port}", {})
        assert (await client.post("/close", b""))[2] == b"until the end"
        assert (await client.post("/chunked", b""))[2] == b"hello world"
        await client.aclose()


@pytest.mark.parametrize("kind", ["fast", "httpx"])
async def test_read_timeout_is_a_provider_timeout(kind: str) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async with raw_server(handler) as port:
        settings = load_settings(openai_base_url=f"http://127.0.0.1:{port}/v1", openai_api_key="k", http_client=kind)
        adapter = openai.create(settings)
        request = CompletionRequest(model="m", messages=[ChatMessage(role="user", content="x")], timeout_s=0.2)
        with pytest.raises(ProviderTimeout):
            await adapter.complete(request)
        await adapter.aclose()


@pytest.mark.parametrize("kind", ["fast", "httpx"])
async def test_connection_refused_is_unavailable(kind: str) -> None:
    settings = load_settings(openai_base_url="http://127.0.0.1:9/v1", openai_api_key="k", http_client=kind)
    adapter = openai.create(settings)
    with pytest.raises(ProviderUnavailable, match="connection failed"):
        await adapter.complete(CompletionRequest(model="m", messages=[ChatMessage(role="user", content="x")]))
    await adapter.aclose()


async def test_garbage_instead_of_http_is_a_transport_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        await writer.drain()
        writer.close()

    async with raw_server(handler) as port:
        client = FastClient(f"http://127.0.0.1:{port}", {})
        with pytest.raises(TransportError):
            await client.post("/x", b"")
        await client.aclose()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``localhost``."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_tls(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(response())
            await writer.drain()

    async with raw_server(handler, server_ctx) as port:
        trusting = ssl.create_default_context(cafile=str(cert))
        client = FastClient(f"https://localhost:{port}/v1", {}, ssl_context=trusting)
        assert (await client.post("/chat/completions", b"{}"))[2] == OK
        assert (await client.post("/chat/completions", b"{}"))[2] == OK
        assert client.connections_opened == 1
        await client.aclose()
        untrusting = FastClient(f"https://localhost:{port}/v1", {})
        with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            await untrusting.post("/chat/completions", b"{}")
        await untrusting.aclose()


def test_a_client_survives_a_new_event_loop(replay_server: ReplayServer) -> None:
    client = FastClient(f"{replay_server.url}/openai/v1", {})

    async def call() -> int:
        return (await client.post("/chat/completions", b'{"model": "gpt-4o-mini"}'))[0]

    assert asyncio.run(call()) == 200
    assert asyncio.run(call()) == 200  # the first loop's idle connection is dropped, not reused
    assert client.connections_opened == 2


async def test_httpx_client_maps_errors() -> None:
    client = HttpxClient("http://127.0.0.1:9", {}, timeout_s=1.0, connect_timeout_s=1.0)
    with pytest.raises(TransportError) as info:
        await client.post("/x", b"")
    assert not isinstance(info.value, TransportTimeout)
    await client.aclose()


def test_proxy_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    assert not proxied("https://api.openai.com/v1")
    monkeypatch.setenv("https_proxy", "http://proxy.internal:3128")
    assert proxied("https://api.openai.com/v1")
    assert not proxied("http://127.0.0.1:8000/v1")
    monkeypatch.setenv("no_proxy", "api.openai.com")
    assert not proxied("https://api.openai.com/v1")
