"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from promptyard import __version__
from promptyard.runtime import Runtime
from promptyard.server import errors
from promptyard.server.busy_poll import BusyPoll
from promptyard.server.heap import freeze_heap
from promptyard.server.hot import App
from promptyard.server.routers import admin as admin_router
from promptyard.server.routers import admin_experiments, health, openai_compat, run, workspace, workspace_actions
from promptyard.server.routers import canaries as canaries_router
from promptyard.server.routers import experiments as experiments_router
from promptyard.server.routers import feedback as feedback_router
from promptyard.server.routers import guards as guards_router
from promptyard.server.routers import keys as keys_router
from promptyard.server.routers import metrics as metrics_router
from promptyard.server.routers import prompts as prompts_router
from promptyard.server.routers import rag as rag_router


def create_app(runtime: Runtime | None = None) -> App:
    rt = runtime or Runtime()
    rt.serving = True  # PROMPTYARD_TRACE_WRITER=auto: traces are written in a writer process

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _ = rt.db  # migrations run on start
        stop_canaries = None
        if rt.settings.canary_controller:
            from promptyard.experiments.canary_controller import start_controller

            stop_canaries = start_controller(rt)
        start_tracer = getattr(rt.tracer, "start", None)  # the trace writer process, before the first request
        if callable(start_tracer):
            await asyncio.to_thread(start_tracer)
        _ = rt.gateway  # built now, not by the first request
        freeze_heap()
        yield
        if stop_canaries is not None:
            await stop_canaries()
        await rt.aclose()

    app = App(title="promptyard", version=__version__, lifespan=lifespan)
    app.busy_poll = BusyPoll(rt.settings.server_busy_poll_us)
    app.state.runtime = rt
    errors.install(app)
    app.include_router(health.router)
    # Domain routers: one line each.
    app.include_router(openai_compat.router)
    app.include_router(run.router)
    app.include_router(prompts_router.router)
    app.include_router(keys_router.router)
    app.include_router(admin_router.router)
    app.include_router(metrics_router.router)
    app.include_router(rag_router.router)
    app.include_router(workspace.router)
    app.include_router(workspace_actions.router)
    app.include_router(feedback_router.router)
    app.include_router(experiments_router.router)
    app.include_router(canaries_router.router)
    app.include_router(admin_experiments.router)
    app.include_router(guards_router.router)
    # The two gateway routes skip FastAPI's router and dependency solver (server/hot.py).
    app.serve_hot(
        chat=lambda request, key, _params: openai_compat.chat_completions(request, key),
        run=lambda request, key, params: run.run_prompt(params["name"], request, key),
    )
    return app
