"""Canary API: ``POST /v1/canaries`` (admin, a :class:`CanarySpec`), ``GET /v1/canaries/{name}``
(viewer: state, step history, the current step's read-out), ``POST /v1/canaries/{name}/stop`` (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from promptyard.experiments.canary import CanarySpec
from promptyard.experiments.canary_controller import CanaryStatus
from promptyard.experiments.model import Experiment
from promptyard.server.auth import require, runtime_of
from promptyard.server.keys import ApiKey

router = APIRouter(prefix="/v1/canaries", tags=["experiments"])


class StopRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = None


@router.post("", summary="Start a canary release of a version on a label")
def start(body: CanarySpec, request: Request, key: ApiKey = Depends(require("admin"))) -> Experiment:
    return runtime_of(request).experiments.canaries.start(body, actor=key.name)


@router.get("/{name}", summary="A canary's state, step history and current read-out")
def status(name: str, request: Request, _key: ApiKey = Depends(require("viewer"))) -> CanaryStatus:
    return runtime_of(request).experiments.canaries.status(name)


@router.post("/{name}/stop", summary="Stop a canary: the label serves its version to everyone again")
def stop(
    name: str, request: Request, body: StopRequest | None = None, key: ApiKey = Depends(require("admin"))
) -> Experiment:
    return runtime_of(request).experiments.canaries.stop(name, actor=key.name, reason=body.reason if body else None)
