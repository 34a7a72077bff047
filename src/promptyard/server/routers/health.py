"""Public liveness endpoint (no auth)."""

from __future__ import annotations

from fastapi import APIRouter

from promptyard import __version__

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}
