"""A real HTTP server on loopback that replays recorded wire exchanges.

It serves ``tests/fixtures/wire/{openai,anthropic}/recorded_*.json`` under
``/openai/v1/chat/completions`` and ``/anthropic/v1/messages``: each request gets the next
exchange recorded for its ``(model, stream)``. Event streams are sent in small uneven
chunks, so SSE lines arrive split across reads as they do over a real network.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wire"
_HOP_BY_HOP = {"content-length", "connection", "transfer-encoding", "content-encoding"}


@dataclass
class Received:
    vendor: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ReplayServer:
    fixtures: Path = FIXTURES
    chunk_sizes: tuple[int, ...] = (7, 31, 64, 3, 120)
    received: list[Received] = field(default_factory=list)
    _exchanges: dict[tuple[str, str, bool], list[dict[str, Any]]] = field(default_factory=dict)
    _cursor: dict[tuple[str, str, bool], int] = field(default_factory=lambda: defaultdict(int))
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    port: int = 0

    def __post_init__(self) -> None:
        for vendor in ("openai", "anthropic"):
            for path in sorted((self.fixtures / vendor).glob("recorded_*.json")):
                for exchange in json.loads(path.read_text()):
                    body = exchange["request"]["body"]
                    key = (vendor, body["model"], bool(body.get("stream")))
                    self._exchanges.setdefault(key, []).append(exchange)

    # ---- lifecycle ---------------------------------------------------------------
    def start(self, timeout_s: float = 15.0) -> None:
        app = Starlette(
            routes=[
                Route("/openai/v1/chat/completions", self._openai, methods=["POST"]),
                Route("/anthropic/v1/messages", self._anthropic, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="replay-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the replay server did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def reset(self) -> None:
        self._cursor.clear()
        self.received.clear()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- serving -----------------------------------------------------------------
    async def _openai(self, request: Request) -> Response:
        return await self._replay("openai", request)

    async def _anthropic(self, request: Request) -> Response:
        return await self._replay("anthropic", request)

    async def _replay(self, vendor: str, request: Request) -> Response:
        body = json.loads(await request.body())
        self.received.append(Received(vendor, request.url.path, dict(request.headers), body))
        key = (vendor, body.get("model", ""), bool(body.get("stream")))
        exchanges = self._exchanges.get(key)
        if not exchanges:
            error = {"error": {"type": "not_found_error", "message": f"no recorded exchange for {key}"}}
            return Response(json.dumps(error), status_code=404, media_type="application/json")
        index = min(self._cursor[key], len(exchanges) - 1)
        self._cursor[key] += 1
        recorded = exchanges[index]["response"]
        headers = {k: v for k, v in recorded["headers"].items() if k.lower() not in _HOP_BY_HOP}
        media_type = headers.pop("content-type", "application/json")
        payload = recorded["body"]
        if isinstance(payload, str) and media_type.startswith("text/event-stream"):
            return StreamingResponse(
                self._chunks(payload.encode()),
                status_code=recorded["status_code"],
                headers=headers,
                media_type=media_type,
            )
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return Response(text, status_code=recorded["status_code"], headers=headers, media_type=media_type)

    async def _chunks(self, data: bytes) -> AsyncIterator[bytes]:
        offset, turn = 0, 0
        while offset < len(data):
            size = self.chunk_sizes[turn % len(self.chunk_sizes)]
            yield data[offset : offset + size]
            offset += size
            turn += 1
            await asyncio.sleep(0)
