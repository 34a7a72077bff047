"""``POST /v1/prompts/{name}/run``: run a pinned registry prompt through the gateway.

Body: ``{"label" | "version", "variables", "stream", "end_user", "bypass_cache", ...}``.
Not streaming, the answer is the :class:`GatewayResult` as JSON. Streaming
(``"stream": true``), the answer is ``text/event-stream`` with named events::

    event: delta
    data: {"delta": "Hel"}

    event: result
    data: {...GatewayResult...}

and, if the call fails after it started, ``event: error`` with the error body.
This is a measured hot path: the body is parsed with one pydantic call and the answer
encoded with orjson.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from promptyard.errors import PromptyardError
from promptyard.gateway.base import CallContext, GatewayResult, PromptCall
from promptyard.server.auth import require, runtime_of
from promptyard.server.bodies import parse_body
from promptyard.server.errors import error_body
from promptyard.server.keys import ApiKey
from promptyard.server.sse import EventStreamResponse, Primed, close_quietly, named_event, prime

router = APIRouter(prefix="/v1/prompts", tags=["run"])


class RunRequest(BaseModel):
    """Run a prompt. Exactly one of ``version`` or ``label``."""

    model_config = ConfigDict(extra="forbid")

    version: str | None = None
    label: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    stream: bool = False
    end_user: str | None = None
    user: str | None = None
    """OpenAI's name for ``end_user`` (used when ``end_user`` is unset)."""
    session: str | None = None
    """The end user's session id (splits with ``--unit session`` assign by it)."""
    bypass_cache: bool = False
    tenant: str | None = None
    corpus_version: int | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_selector(self) -> RunRequest:
        if (self.version is None) == (self.label is None):
            raise ValueError("give exactly one of 'version' or 'label'")
        return self

    def to_call(self, name: str, api_key_id: str | None) -> PromptCall:
        return PromptCall(
            name=name,
            version=self.version,
            label=self.label,
            variables=self.variables,
            corpus_version=self.corpus_version,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            context=CallContext(
                api_key_id=api_key_id,
                end_user=self.end_user or self.user,
                session=self.session,
                tenant=self.tenant,
                bypass_cache=self.bypass_cache,
            ),
        )


def result_json(result: GatewayResult) -> bytes:
    return result.model_dump_json().encode()


@router.post("/{name}/run", summary="Run a prompt by name and label or version")
async def run_prompt(name: str, request: Request, key: ApiKey = Depends(require("app"))) -> Response:
    body = await parse_body(request, RunRequest)
    call = body.to_call(name, key.key_id)
    gateway = runtime_of(request).gateway
    if body.stream:
        stream = gateway.run_stream(call)
        primed = await prime(stream)
        return EventStreamResponse(_events(primed), partial(close_quietly, stream))
    result = await gateway.run(call)
    return Response(
        result_json(result), media_type="application/json", headers={"x-promptyard-trace-id": result.trace_id}
    )


async def _events(primed: Primed) -> AsyncIterator[bytes]:
    try:
        async for event in primed.events():
            if event.delta:
                yield named_event("delta", {"delta": event.delta})
    except PromptyardError as exc:
        yield named_event("error", error_body(exc))
        return
    result = primed.stream.result
    if result is not None:
        yield b"event: result\ndata: " + result_json(result) + b"\n\n"
