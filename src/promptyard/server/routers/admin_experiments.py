"""The experiments pages of the operator dashboard (``viewer`` role, same key handling as
``/admin/costs``): ``GET /admin/experiments`` lists them, ``GET /admin/experiments/{name}``
shows arms, samples, deltas with intervals, the SRM warning and a canary's step history.
Everything is rendered by the autoescaping environment: names and reasons are escaped."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from promptyard.errors import NotFound
from promptyard.experiments.canary import state_of
from promptyard.server.auth import runtime_of
from promptyard.server.routers.admin import _html, _page_auth
from promptyard.web.render import render

router = APIRouter(prefix="/admin", tags=["admin"])

Name = Annotated[str, Path(min_length=1, max_length=100)]


@router.get("/experiments", response_class=HTMLResponse)
def experiments_page(request: Request) -> Response:
    auth = _page_auth(request)
    if isinstance(auth, Response):
        return auth
    rows = list(reversed(runtime_of(request).experiments.list_all()))
    return _html(render("experiments.html", experiments=rows, key=auth, active="experiments"))


@router.get("/experiments/{name}", response_class=HTMLResponse)
def experiment_page(request: Request, name: Name) -> Response:
    auth = _page_auth(request)
    if isinstance(auth, Response):
        return auth
    service = runtime_of(request).experiments
    try:
        experiment = service.get(name)
    except NotFound as exc:
        return _html(render("not_found.html", message=str(exc), key=auth, active="experiments"), 404)
    analysis = service.status(name)
    metrics = [m.metric for m in analysis.arms[0].metrics] if analysis.arms else []
    canary = state_of(experiment) if experiment.kind == "canary" else None
    page = render(
        "experiment.html", e=experiment, a=analysis, metrics=metrics, canary=canary, key=auth, active="experiments"
    )
    return _html(page)
