"""server/protocol.py: one socket write per loop step, and uvicorn serving through it end to end."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from promptyard.server.protocol import IMPORT_STRING, CoalescingTransport
from tests.interfaces.conftest import LiveServer


class Recording:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> str:
        return f"extra:{name}"


async def test_writes_of_one_step_leave_as_one_write() -> None:
    raw = Recording()
    transport = CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(bytearray(b"{}"))
    assert raw.writes == []
    assert transport.get_write_buffer_size() == 21
    await asyncio.sleep(0)
    assert raw.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert raw.writes[-1] == b"next"
    assert transport.get_extra_info("peername") == "extra:peername"  # everything else is the real transport's


async def test_close_flushes_first_and_nothing_is_written_after() -> None:
    raw = Recording()
    transport = CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"last words")
    transport.close()
    assert raw.writes == [b"last words"]
    assert raw.closed
    transport.write(b"too late")
    await asyncio.sleep(0)  # the scheduled flush finds the transport closing and drops it
    assert raw.writes == [b"last words"]


def test_uvicorn_serves_json_streams_and_keep_alive_through_it() -> None:
    app = FastAPI()

    @app.get("/json")
    async def json_answer() -> dict[str, int]:
        return {"n": 1}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks():  # type: ignore[no-untyped-def]
            for i in range(3):
                yield f"data: {i}\n\n".encode()
                await asyncio.sleep(0)

        return StreamingResponse(chunks(), media_type="text/event-stream")

    server = LiveServer(app, http=IMPORT_STRING)
    try:
        with httpx.Client(base_url=server.url) as client:
            for _ in range(3):  # one keep-alive connection, several responses
                assert client.get("/json").json() == {"n": 1}
            assert client.get("/stream").text == "data: 0\n\ndata: 1\n\ndata: 2\n\n"
            closing = client.get("/json", headers={"connection": "close"})
            assert closing.json() == {"n": 1}
            assert closing.headers["connection"] == "close"
    finally:
        server.close()
