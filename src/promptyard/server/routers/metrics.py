"""Prometheus ``/metrics``: requests, errors, per-stage latency, tokens, cost, cache hits,
trace queue depth and dropped traces.

It needs the ``viewer`` role: the figures include spend per model. Configure Prometheus
with ``authorization: {credentials: <viewer key>}`` (sent as ``Authorization: Bearer``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from promptyard import dependencies
from promptyard.experiments import canary_controller
from promptyard.server.auth import require, runtime_of
from promptyard.server.keys import ApiKey
from promptyard.tracing.metrics import CONTENT_TYPE

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
def metrics(request: Request, _key: ApiKey = Depends(require("viewer"))) -> Response:
    """Prometheus text exposition format."""
    rt = runtime_of(request)
    _ = rt.tracer  # the writer registers its queue and drop counters with the metrics
    gateway = rt.__dict__.get("gateway")  # only once something built it: /metrics never builds the gateway
    stats = getattr(gateway, "stats", None)
    if stats is not None:
        rt.metrics.watch_stats("gateway", stats)
    guards = getattr(getattr(gateway, "guards", None), "runner", None)
    if guards is not None:
        rt.metrics.watch_stats("guards", guards.stats)
    rt.metrics.watch_stats("dependency", dependencies.STATS)
    rt.metrics.watch_stats("canary", canary_controller.STATS)
    return Response(rt.metrics.render(), media_type=CONTENT_TYPE)
