"""What the openai adapter adds on top of a bare HTTP call to an OpenAI-compatible upstream.

    .venv/bin/python bench/openai_adapter.py [--requests 2000]

Starts a minimal keep-alive upstream (raw asyncio, canned chat.completion JSON and a
canned 12-chunk SSE stream) in a child process on loopback, then times sequential calls:

* ``bare httpx``: ``AsyncClient.post`` + ``orjson.loads`` of the body (what any httpx adapter pays);
* ``adapter ..., httpx``: ``OpenAIProvider.complete`` with ``PROMPTYARD_HTTP_CLIENT=httpx``;
* ``adapter ..., fast``: the same with the lean keep-alive client (the default);
* the same three for streams (bare ``client.stream`` reading lines vs ``OpenAIProvider.stream``).

Prints p50 / p99 wall time and client CPU time per call (microseconds), and what the adapter
adds to each; CPU time is the steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx
import orjson

from promptyard.chat import ChatMessage
from promptyard.providers.base import CompletionRequest
from promptyard.providers.http import Endpoint
from promptyard.providers.openai import OpenAIProvider

BODY = orjson.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1763712042,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there!"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 0}},
    }
)
_CHUNK = (
    b'data: {"id":"c","object":"chat.completion.chunk","model":"m",'
    b'"choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}]}\n\n'
)
_END = (
    b'data: {"id":"c","object":"chat.completion.chunk","model":"m",'
    b'"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","model":"m",'
    b'"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":12}}\n\n'
    b"data: [DONE]\n\n"
)
SSE = _CHUNK * 12 + _END


class Upstream(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(self.buffer) < head_end + 4 + length:
                return
            body = self.buffer[head_end + 4 : head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length :]
            payload, kind = (SSE, b"text/event-stream") if b'"stream":true' in body else (BODY, b"application/json")
            self.transport.write(  # type: ignore[attr-defined]
                b"HTTP/1.1 200 OK\r\ncontent-type: " + kind + b"\r\ncontent-length: "
                + str(len(payload)).encode() + b"\r\nx-request-id: req_bench\r\n\r\n" + payload
            )  # fmt: skip


def serve(port: int) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Upstream, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def timed(n: int, call: Callable[[], Awaitable[object]]) -> tuple[list[float], float]:
    """Wall-clock microseconds per call, and this process's CPU microseconds per call."""
    for _ in range(min(200, n)):
        await call()
    samples = []
    cpu = time.process_time()
    for _ in range(n):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1e6)
    return samples, (time.process_time() - cpu) * 1e6 / n


def pct(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100)[int(q) - 1]


async def run(port: int, n: int) -> None:
    base = f"http://127.0.0.1:{port}/v1"
    auth = {"authorization": "Bearer sk-bench"}
    fast = OpenAIProvider(Endpoint(base_url=base, headers=auth, client_kind="fast"))
    via_httpx = OpenAIProvider(Endpoint(base_url=base, headers=auth, client_kind="httpx"))
    client = httpx.AsyncClient(base_url=base, headers=auth)
    request = CompletionRequest(
        model="gpt-4o-mini", messages=[ChatMessage(role="user", content="Say hello.")], max_tokens=16
    )
    body = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]})
    stream_body = orjson.dumps({"model": "gpt-4o-mini", "messages": [], "stream": True})

    async def bare() -> object:
        response = await client.post("/chat/completions", content=body, headers={"content-type": "application/json"})
        return orjson.loads(response.content)

    async def bare_stream() -> object:
        lines = 0
        async with client.stream("POST", "/chat/completions", content=stream_body) as response:
            async for _ in response.aiter_lines():
                lines += 1
        return lines

    def streamed(provider: OpenAIProvider) -> Callable[[], Awaitable[object]]:
        async def call() -> object:
            return [e async for e in provider.stream(request)]

        return call

    results = {
        "bare httpx complete": await timed(n, bare),
        "adapter complete, httpx": await timed(n, lambda: via_httpx.complete(request)),
        "adapter complete, fast": await timed(n, lambda: fast.complete(request)),
        "bare httpx stream": await timed(n // 2, bare_stream),
        "adapter stream, httpx": await timed(n // 2, streamed(via_httpx)),
        "adapter stream, fast": await timed(n // 2, streamed(fast)),
    }
    print(f"{'call (12-chunk streams)':<28} {'p50 us':>8} {'p99 us':>8} {'client CPU us':>14}")
    for name, (samples, cpu) in results.items():
        print(f"{name:<28} {pct(samples, 50):>8.0f} {pct(samples, 99):>8.0f} {cpu:>14.0f}")
    for kind in ("complete", "stream"):
        floor = results[f"bare httpx {kind}"]
        for client_kind in ("httpx", "fast"):
            ours = results[f"adapter {kind}, {client_kind}"]
            wall = pct(ours[0], 50) - pct(floor[0], 50)
            cpu = ours[1] - floor[1]
            print(f"adapter {kind} ({client_kind}) - bare httpx: p50 {wall:+.0f} us wall, {cpu:+.0f} us CPU")
    await fast.aclose()
    await via_httpx.aclose()
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    port = free_port()
    upstream = multiprocessing.Process(target=serve, args=(port,), daemon=True)
    upstream.start()
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    try:
        asyncio.run(run(port, args.requests))
    finally:
        upstream.terminate()
        upstream.join()


if __name__ == "__main__":
    main()
