"""``POST /v1/guards/check`` (app role): run guards over one text, report every verdict.

Nothing is blocked here: the answer says what each guard found and whether its configured
action would block. Spans are character offsets into the text sent.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request

from promptyard.guards.check import CheckRequest, CheckResult, check_text
from promptyard.server.auth import require, runtime_of
from promptyard.server.keys import ApiKey

router = APIRouter(prefix="/v1/guards", tags=["guards"])


@router.post("/check", response_model=CheckResult)
async def check(body: CheckRequest, request: Request, _key: ApiKey = Depends(require("app"))) -> CheckResult:
    runner = runtime_of(request).gateway.guards.runner
    return await asyncio.to_thread(check_text, body, runner)
