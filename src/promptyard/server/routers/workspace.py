"""The prompt workspace pages (HTML): prompts, one prompt, diff, playground, editor, export.

Same keys, cookie and CSP as the other operator pages (see :mod:`.admin`). Reading needs
``viewer``; the editor and playground runs need ``app``; approving, rejecting, releasing and
rolling back need ``admin`` (the form posts live in :mod:`.workspace_actions`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from promptyard.errors import NotFound, PromptyardError
from promptyard.runtime import Runtime
from promptyard.server.auth import runtime_of
from promptyard.server.errors import status_for
from promptyard.server.keys import ApiKey
from promptyard.server.routers.admin import _html, _page_auth
from promptyard.tracing.files import trace_dir
from promptyard.tracing.queries import TraceFilter, list_traces
from promptyard.tracing.reader import TraceReader
from promptyard.web.render import render
from promptyard.workspace.drafts import suggest_version, with_version
from promptyard.workspace.playground import RunOutcome, form_fields
from promptyard.workspace.views import diff_view, list_view, prompt_view

router = APIRouter(prefix="/admin/prompts", tags=["workspace"])

Name = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")]
Version = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.+-]+$")]
OptVersion = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.+-]*$")]
Done = Annotated[str | None, Query(pattern=r"^(draft|submit|approve|reject|release|rollback)?$")]


def page(template: str, key: ApiKey, status: int = 200, **context: Any) -> HTMLResponse:
    return _html(render(template, key=key, active="prompts", **context), status)


def error_page(exc: PromptyardError, key: ApiKey) -> HTMLResponse:
    message = str(exc) + (f" ({exc.hint})" if exc.hint else "")
    return page("ws_error.html", key, status_for(exc), message=message)


def prompt_page(
    rt: Runtime, key: ApiKey, name: str, version: str | None, *, status: int = 200, **extra: Any
) -> HTMLResponse:
    try:
        view = prompt_view(rt, name, version or None)
    except PromptyardError as exc:
        return error_page(exc, key)
    return page("ws_prompt.html", key, status, **{"done": None, "error": None} | view | extra)


@router.get("", response_class=HTMLResponse)
def prompts_page(request: Request, days: Annotated[int, Query(ge=1, le=90)] = 7) -> Response:
    """Every prompt with its labels, versions and recent traffic, cost and error rate per version."""
    auth = _page_auth(request)
    if isinstance(auth, Response):
        return auth
    return page("ws_prompts.html", auth, **list_view(runtime_of(request), days=days))


@router.get("/{name}", response_class=HTMLResponse)
def prompt_detail(request: Request, name: Name, v: OptVersion = None, done: Done = None) -> Response:
    """Versions, labels with history, the rendered template, review and release actions."""
    auth = _page_auth(request)
    if isinstance(auth, Response):
        return auth
    return prompt_page(runtime_of(request), auth, name, v, done=done or None)


@router.get("/{name}/diff", response_class=HTMLResponse)
def diff_page(request: Request, name: Name, a: OptVersion = None, b: OptVersion = None) -> Response:
    """Two versions side by side: file text, model config, variables, eval scores."""
    auth = _page_auth(request)
    if isinstance(auth, Response):
        return auth
    rt = runtime_of(request)
    try:
        versions = [x.version for x in rt.registry.versions(name)]
        a = a or (versions[-2] if len(versions) > 1 else versions[-1])
        b = b or versions[-1]
        view = diff_view(rt, name, a, b)
    except PromptyardError as exc:
        return error_page(exc, auth)
    return page("ws_diff.html", auth, **view)


def playground_page(
    rt: Runtime,
    key: ApiKey,
    name: str,
    version: str | None,
    *,
    values: dict[str, Any] | None = None,
    compare: str | None = None,
    model: str | None = None,
    outcomes: list[RunOutcome] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    try:
        versions = [x.version for x in rt.registry.versions(name)]
        selected = rt.registry.get(name, version or versions[-1])
    except PromptyardError as exc:
        return error_page(exc, key)
    recent = list_traces(rt.db, TraceFilter(prompt=name, limit=8))
    return page(
        "ws_playground.html",
        key,
        status,
        name=name,
        v=selected,
        versions=list(reversed(versions)),
        fields=form_fields(selected.spec, values),
        compare=compare,
        model=model or "",
        own_model=f"{selected.spec.model.provider}/{selected.spec.model.model}",
        outcomes=outcomes or [],
        recent=recent,
        error=error,
    )


@router.get("/{name}/playground", response_class=HTMLResponse)
def playground(
    request: Request,
    name: Name,
    v: OptVersion = None,
    trace: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$")] = None,
) -> Response:
    """The playground form; ``?trace=ID`` prefills the variables from that trace's inputs."""
    auth = _page_auth(request)
    if isinstance(auth, Response):
        return auth
    rt = runtime_of(request)
    values: dict[str, Any] | None = None
    if trace:
        try:
            found = TraceReader(trace_dir(rt.settings.home)).find(trace)
        except NotFound as exc:
            return error_page(exc, auth)
        values = found.inputs or {}
        v = v or found.prompt_version
    return playground_page(rt, auth, name, v, values=values)


@router.get("/{name}/edit", response_class=HTMLResponse)
def edit_page(
    request: Request, name: Name, base: Annotated[str | None, Query(alias="from", max_length=64)] = None
) -> Response:
    """The editor: a version's file text with the next version filled in, lint shown as you type."""
    auth = _page_auth(request, "app")
    if isinstance(auth, Response):
        return auth
    rt = runtime_of(request)
    try:
        versions = [x.version for x in rt.registry.versions(name)]
        source = rt.registry.get(name, base or versions[-1])
    except PromptyardError as exc:
        return error_page(exc, auth)
    suggested = suggest_version(versions)
    return page(
        "ws_edit.html",
        auth,
        name=name,
        base=source.version,
        latest=versions[-1],
        suggested=suggested,
        text=with_version(source.source, suggested),
        error=None,
    )


@router.get("/{name}/versions/{version}/export")
def export(request: Request, name: Name, version: Version) -> Response:
    """The version's exact file text, to commit as ``prompts/<name>/<version>.prompt``."""
    auth = _page_auth(request)
    if isinstance(auth, Response):
        return auth
    try:
        source = runtime_of(request).registry.get(name, version)
    except PromptyardError as exc:
        return error_page(exc, auth)
    return Response(
        source.source.encode("utf-8"),
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{version}.prompt"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
