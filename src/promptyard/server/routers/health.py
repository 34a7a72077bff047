"""Public liveness and readiness endpoints (no auth).

``/healthz``: the process is up (never touches a dependency). ``/readyz``: the database and,
when configured, Redis answer; 503 naming what is down otherwise. Neither needs a restart
to turn green again: connections are re-made as soon as the service is back.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from promptyard import __version__
from promptyard.server.auth import runtime_of

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    rt = runtime_of(request)
    checks: dict[str, str] = {}

    def database() -> None:
        with rt.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(asyncio.to_thread(database), 2.0)
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"down: {type(exc).__name__}"
    s = rt.settings
    if s.cache_backend == "redis" or s.rate_limit_backend == "redis":
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(s.redis_url, socket_connect_timeout=1, socket_timeout=1)
        try:
            await client.ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"down: {type(exc).__name__}"
        finally:
            await client.aclose()
    ok = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ok else "unavailable", "version": __version__, **checks}
    return JSONResponse(body, status_code=200 if ok else 503)
