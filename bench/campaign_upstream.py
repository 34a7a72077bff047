"""The campaign's fake OpenAI-compatible upstream: its faults are chosen by the last user message.

``slow``: answers after 1 s; ``429once:<id>``: 429 with ``Retry-After: 1`` the first time that id is
seen, then answers; ``500once:<id>``: one 500, then answers; ``500``: always 500; ``timeout``: never
answers in time (sleeps 30 s); ``drop``: a stream that sends two chunks, then cuts the connection.
Anything else answers at once. Every answer reports 20 prompt and 8 completion tokens.

Run: ``python bench/campaign_upstream.py PORT``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

USAGE = {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28}
_seen: set[str] = set()


def _answer(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-campaign",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": USAGE,
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None, usage: bool = False) -> bytes:
    body: dict[str, Any] = {
        "id": "chatcmpl-campaign",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage:
        body["usage"] = USAGE
    return b"data: " + json.dumps(body).encode() + b"\n\n"


async def complete(request: Request) -> Response:
    body = await request.json()
    model = str(body.get("model", "m"))
    text = str(body["messages"][-1]["content"])
    fault = text.split(" ", 1)[0]
    if fault == "slow":
        await asyncio.sleep(1.0)
    elif fault.startswith("429once:") and fault not in _seen:
        _seen.add(fault)
        return JSONResponse({"error": {"message": "slow down"}}, status_code=429, headers={"Retry-After": "1"})
    elif fault.startswith("500once:") and fault not in _seen:
        _seen.add(fault)
        return JSONResponse({"error": {"message": "boom"}}, status_code=500)
    elif fault == "500":
        return JSONResponse({"error": {"message": "always boom"}}, status_code=500)
    elif fault == "timeout":
        await asyncio.sleep(30)
    answer = f"answer to {text[:40]}"
    if not body.get("stream"):
        return JSONResponse(_answer(model, answer))

    async def events() -> AsyncIterator[bytes]:
        yield _chunk(model, {"role": "assistant", "content": "answer "})
        yield _chunk(model, {"content": "to "})
        if fault == "drop":
            await asyncio.sleep(0.01)
            raise ConnectionResetError("the campaign upstream cuts this stream")
        yield _chunk(model, {"content": text[:40]})
        yield _chunk(model, {}, "stop", usage=True)
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


app = Starlette(routes=[Route("/v1/chat/completions", complete, methods=["POST"])])

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="critical", access_log=False)
