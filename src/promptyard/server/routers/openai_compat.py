"""OpenAI-compatible endpoints: ``POST /v1/chat/completions`` and ``GET /v1/models``.

An app using the OpenAI SDK adopts promptyard by changing its base URL to
``http://HOST:PORT/v1`` and its API key to a promptyard key (role ``app``). The wire
format lives in :mod:`promptyard.server.openai_wire`; every call goes through the one
gateway pipeline (``runtime.gateway``).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from promptyard.errors import PromptyardError
from promptyard.gateway.base import GatewayStream, PromptCall
from promptyard.server.auth import require, runtime_of
from promptyard.server.bodies import parse_body
from promptyard.server.errors import error_body
from promptyard.server.keys import ApiKey
from promptyard.server.models import configured_models
from promptyard.server.openai_wire import ChatCompletionRequest, ChunkWriter, completion_dict
from promptyard.server.sse import DONE, EventStreamResponse, Primed, close_quietly, data_line, prime

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

JSON = "application/json"


@router.post("/chat/completions", summary="OpenAI-compatible chat completions (streaming and not)")
async def chat_completions(request: Request, key: ApiKey = Depends(require("app"))) -> Response:
    """``model``: ``provider/model`` or ``prompt:NAME@LABEL`` / ``prompt:NAME@VERSION``.

    promptyard's extras go in a top-level ``promptyard`` object: ``variables``,
    ``end_user``, ``bypass_cache``, ``tenant``, ``corpus_version``.
    """
    body = await parse_body(request, ChatCompletionRequest)
    call = body.to_call(key.key_id)
    gateway = runtime_of(request).gateway
    if body.stream:
        stream: GatewayStream = gateway.run_stream(call) if isinstance(call, PromptCall) else gateway.chat_stream(call)
        primed = await prime(stream)
        writer = ChunkWriter(f"chatcmpl-{os.urandom(12).hex()}", body.model, include_usage=body.include_usage)
        return EventStreamResponse(_chunks(primed, writer), partial(close_quietly, stream))
    result = await (gateway.run(call) if isinstance(call, PromptCall) else gateway.chat(call))
    return Response(
        orjson.dumps(completion_dict(result, body.model)),
        media_type=JSON,
        headers={"x-promptyard-trace-id": result.trace_id},
    )


async def _chunks(primed: Primed, writer: ChunkWriter) -> AsyncIterator[bytes]:
    yield data_line(writer.role())
    reason: str | None = None
    usage = None
    try:
        async for event in primed.events():
            if event.delta:
                yield data_line(writer.delta(event))
            if event.finish_reason is not None:
                reason = event.finish_reason
            if event.usage is not None:
                usage = event.usage
    except PromptyardError as exc:
        # Mid-stream failure: OpenAI's SDK raises on an ``error`` event.
        yield data_line(error_body(exc))
        return
    result = primed.stream.result
    if result is not None:
        reason = reason or result.finish_reason
        usage = result.usage
    yield data_line(writer.finish(reason))
    if writer.include_usage and usage is not None:
        yield data_line(writer.usage(usage, result))
    yield DONE


@router.get("/models", summary="Models and prompts this gateway serves (OpenAI list format)")
async def list_models(request: Request, _key: ApiKey = Depends(require("viewer"))) -> Response:
    created = int(time.time())
    data: list[dict[str, Any]] = [
        {"id": model_id, "object": "model", "created": created, "owned_by": owner}
        for model_id, owner in await anyio.to_thread.run_sync(configured_models, runtime_of(request))
    ]
    return Response(orjson.dumps({"object": "list", "data": data}), media_type=JSON)
