"""Experiments API: read-outs (viewer), start, stop and promote (admin), power plans (viewer).

- ``GET /v1/experiments`` · ``POST /v1/experiments`` (an :class:`ExperimentSpec`)
- ``GET /v1/experiments/plan?baseline=0.5&effect=0.05``
- ``GET /v1/experiments/{name}?segment=model``: the experiment and its analysis
- ``POST /v1/experiments/{name}/stop`` · ``POST /v1/experiments/{name}/promote``

The actor in the audit log is the API key's name.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from promptyard.experiments.analysis import Analysis
from promptyard.experiments.model import Experiment, ExperimentSpec
from promptyard.experiments.stats import SamplePlan
from promptyard.prompts.labels import LabelMove
from promptyard.server.auth import require, runtime_of
from promptyard.server.keys import ApiKey

router = APIRouter(prefix="/v1/experiments", tags=["experiments"])

_viewer = Depends(require("viewer"))
_admin = Depends(require("admin"))


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StopRequest(_Body):
    reason: str | None = None


class PromoteRequest(_Body):
    version: str | None = None
    """Unset: the significant winner on the primary metric (409 when there is none yet)."""
    reason: str | None = None


class ExperimentStatus(BaseModel):
    experiment: Experiment
    analysis: Analysis


@router.get("", summary="Every experiment and canary")
def list_experiments(
    request: Request, prompt: Annotated[str | None, Query(max_length=200)] = None, _key: ApiKey = _viewer
) -> list[Experiment]:
    return runtime_of(request).experiments.list_all(prompt=prompt)


@router.post("", summary="Start an A/B split on a label")
def start(body: ExperimentSpec, request: Request, key: ApiKey = _admin) -> Experiment:
    return runtime_of(request).experiments.start(body, actor=key.name)


@router.get("/plan", summary="Samples per arm to detect an effect")
def plan(
    request: Request,
    baseline: Annotated[float, Query(gt=0)],
    effect: Annotated[float, Query()],
    alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
    power: Annotated[float, Query(gt=0, lt=1)] = 0.8,
    sd: Annotated[float | None, Query(gt=0)] = None,
    _key: ApiKey = _viewer,
) -> SamplePlan:
    return runtime_of(request).experiments.plan(baseline=baseline, effect=effect, alpha=alpha, power=power, sd=sd)


@router.get("/{name}", summary="An experiment with its analysis")
def status(
    name: str,
    request: Request,
    segment: Annotated[str | None, Query(max_length=40)] = None,
    _key: ApiKey = _viewer,
) -> ExperimentStatus:
    service = runtime_of(request).experiments
    return ExperimentStatus(experiment=service.get(name), analysis=service.status(name, segment=segment))


@router.post("/{name}/stop", summary="End the split (the label serves its own version again)")
def stop(name: str, request: Request, body: StopRequest | None = None, key: ApiKey = _admin) -> Experiment:
    return runtime_of(request).experiments.stop(name, actor=key.name, reason=body.reason if body else None)


@router.post("/{name}/promote", summary="Move the label to the winning arm and end the split")
def promote(name: str, request: Request, body: PromoteRequest | None = None, key: ApiKey = _admin) -> LabelMove:
    body = body or PromoteRequest()
    return runtime_of(request).experiments.promote(name, version=body.version, actor=key.name, reason=body.reason)
