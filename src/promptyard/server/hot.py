"""The gateway's hot routes, served before FastAPI's middleware stack, router and dependency solver.

``POST /v1/chat/completions`` and ``POST /v1/prompts/{name}/run`` carry nearly all of the
traffic, and on them FastAPI's own layers (five middleware coroutines, matching the path
against every route, solving ``Depends``, an ``AsyncExitStack`` per request) cost about as
much CPU as the whole gateway pipeline (docs/benchmarks.md, "Tail latency"). :class:`App`
matches these two paths first and calls the very same endpoint functions with the same auth
dependency and the same exception handlers that :func:`promptyard.server.errors.install`
registered; every other request, and the OpenAPI schema of these two, goes through FastAPI
as usual. The app adds no ASGI middleware of its own; one added later would not see these two
routes (``App.hot_routes = False`` turns them off).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from promptyard.server.auth import require
from promptyard.server.busy_poll import BusyPoll
from promptyard.server.keys import ApiKey

log = logging.getLogger(__name__)

Endpoint = Callable[[Request, ApiKey, dict[str, str]], Awaitable[Response]]

_CHAT = "/v1/chat/completions"
_RUN_PREFIX, _RUN_SUFFIX = "/v1/prompts/", "/run"


class App(FastAPI):
    """FastAPI, with the two gateway routes dispatched by a dictionary lookup and a prefix test."""

    hot_routes: bool = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._authenticate = require("app")
        self._chat: Endpoint | None = None
        self._run: Endpoint | None = None
        self.busy_poll = BusyPoll(0)
        """Set by :func:`promptyard.server.app.create_app` from ``PROMPTYARD_SERVER_BUSY_POLL_US``."""

    def serve_hot(self, *, chat: Endpoint, run: Endpoint) -> None:
        """Register the endpoint functions (the routers' own) that the hot paths call."""
        self._chat, self._run = chat, run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.busy_poll.window:
            await self._dispatch(scope, receive, send)
            return
        self.busy_poll.touch()
        try:
            await self._dispatch(scope, receive, send)
        finally:
            self.busy_poll.touch()

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hot_routes and scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            if path == _CHAT and self._chat is not None:
                await self._serve(self._chat, {}, scope, receive, send)
                return
            if path.startswith(_RUN_PREFIX) and path.endswith(_RUN_SUFFIX) and self._run is not None:
                name = path[len(_RUN_PREFIX) : -len(_RUN_SUFFIX)]
                if name and "/" not in name:
                    await self._serve(self._run, {"name": name}, scope, receive, send)
                    return
        await super().__call__(scope, receive, send)

    async def _serve(
        self, endpoint: Endpoint, params: dict[str, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        scope["app"] = self
        request = Request(scope, receive)
        try:
            response = await endpoint(request, await self._authenticate(request), params)
        except Exception as exc:  # noqa: BLE001 - mapped exactly as FastAPI's stack maps it
            response = await self._handle(request, exc)
        await response(scope, receive, send)

    async def _handle(self, request: Request, exc: Exception) -> Response:
        for cls in type(exc).__mro__:
            handler = self.exception_handlers.get(cls)
            if handler is not None:
                response = handler(request, exc)
                return await response if inspect.isawaitable(response) else response
        # What Starlette's ServerErrorMiddleware does for an unhandled error (debug off).
        log.error("Exception in ASGI application", exc_info=exc)
        return PlainTextResponse("Internal Server Error", status_code=500)
