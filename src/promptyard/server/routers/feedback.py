"""``POST /v1/feedback`` (app role): thumbs, rating, comment and implicit signals for a trace.

The trace id is the one a call returned (``trace_id`` in the result, ``x-promptyard-trace-id``
header). Unknown trace ids answer 404. ``GET /v1/traces/{id}/feedback`` (viewer) lists it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from promptyard.experiments.feedback import Feedback, FeedbackIn
from promptyard.server.auth import require, runtime_of
from promptyard.server.keys import ApiKey

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.post("/feedback", summary="Feedback on a trace (thumbs, rating, comment, implicit signals)")
def post_feedback(body: FeedbackIn, request: Request, key: ApiKey = Depends(require("app"))) -> Feedback:
    return runtime_of(request).experiments.add_feedback(body, actor=key.name)


@router.get("/traces/{trace_id}/feedback", summary="The feedback recorded for a trace, oldest first")
def trace_feedback(trace_id: str, request: Request, _key: ApiKey = Depends(require("viewer"))) -> list[Feedback]:
    return runtime_of(request).experiments.feedback(trace_id)
