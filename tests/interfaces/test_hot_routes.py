"""The hot routes (server/hot.py) answer exactly as FastAPI's own stack does, without entering it."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from promptyard.errors import ProviderTimeout
from promptyard.server.hot import App
from tests.interfaces.standin import StandInGateway

CHAT = {"model": "fake/echo", "messages": [{"role": "user", "content": "hi"}]}
RUN = {"label": "production", "variables": {"name": "Ada"}}

CASES: list[tuple[str, str, Any, dict[str, str] | None]] = [
    ("chat ok", "/v1/chat/completions", CHAT, None),
    ("run ok", "/v1/prompts/greet/run", RUN, None),
    ("chat stream", "/v1/chat/completions", {**CHAT, "stream": True}, None),
    ("run stream", "/v1/prompts/greet/run", {**RUN, "stream": True}, None),
    ("no key", "/v1/chat/completions", CHAT, {"authorization": ""}),
    ("bad key", "/v1/prompts/greet/run", RUN, {"authorization": "Bearer nope"}),
    ("bad body", "/v1/chat/completions", {"model": "fake/echo"}, None),
    ("both selectors", "/v1/prompts/greet/run", {"label": "a", "version": "1.0.0"}, None),
    ("empty body", "/v1/prompts/greet/run", None, None),
    ("unknown model", "/v1/chat/completions", {**CHAT, "model": "fake/nope"}, None),
    ("unknown prompt", "/v1/prompts/nope/run", RUN, None),
]


async def answer(app: App, key: str, path: str, body: Any, headers: dict[str, str] | None) -> tuple[int, str, bytes]:
    transport = httpx.ASGITransport(app=app)
    auth = {"authorization": f"Bearer {key}", **(headers or {})}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=auth) as c:
        resp = await (c.post(path, json=body) if body is not None else c.post(path))
    return resp.status_code, resp.headers.get("content-type", ""), resp.content


def without_ids(content: bytes) -> bytes:
    """Trace ids, completion ids and timestamps differ between two calls; the rest must not."""
    return re.sub(rb'"(trace_id|id|created)":\s*("[^"]*"|\d+)', b"", content)


@pytest.mark.parametrize(("case", "path", "body", "headers"), CASES, ids=[c[0] for c in CASES])
async def test_hot_route_answers_like_fastapi(
    app: App, app_key: str, registry_prompt: None, case: str, path: str, body: Any, headers: dict[str, str] | None
) -> None:
    hot = await answer(app, app_key, path, body, headers)
    app.hot_routes = False
    slow = await answer(app, app_key, path, body, headers)
    assert hot[:2] == slow[:2], case
    assert without_ids(hot[2]) == without_ids(slow[2]), case


async def test_hot_routes_do_not_enter_fastapis_stack(app: App, app_key: str) -> None:
    entered: list[str] = []

    async def stack(scope: Scope, receive: Receive, send: Send) -> None:
        entered.append(scope["path"])
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app.middleware_stack = stack
    assert (await answer(app, app_key, "/v1/chat/completions", CHAT, None))[0] == 200
    assert (await answer(app, app_key, "/v1/prompts/greet/run", RUN, None))[0] == 200
    # Anything else, including look-alike paths, goes through FastAPI as before.
    for path in ("/v1/prompts/a/b/run", "/v1/prompts//run", "/v1/chat/completions/"):
        assert (await answer(app, app_key, path, CHAT, None))[0] == 599
    assert entered == ["/v1/prompts/a/b/run", "/v1/prompts//run", "/v1/chat/completions/"]


def failing(exc: Exception) -> Any:
    async def chat(_call: object) -> None:
        raise exc

    return chat


async def test_hot_route_maps_gateway_errors_with_the_registered_handlers(
    app: App, app_key: str, gateway: StandInGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway, "chat", failing(ProviderTimeout("upstream took too long", hint="raise the timeout")))
    hot = await answer(app, app_key, "/v1/chat/completions", CHAT, None)
    app.hot_routes = False
    slow = await answer(app, app_key, "/v1/chat/completions", CHAT, None)
    assert hot == slow
    assert hot[0] == 504
    assert b"provider_timeout" in hot[2]


async def test_unexpected_error_is_a_plain_500(
    app: App, app_key: str, gateway: StandInGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway, "chat", failing(RuntimeError("bug")))
    status, _, content = await answer(app, app_key, "/v1/chat/completions", CHAT, None)
    assert (status, content) == (500, b"Internal Server Error")
