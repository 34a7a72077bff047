"""Operator pages and their JSON twins: the cost dashboard and the trace browser.

Every route needs the ``viewer`` role (``admin`` works too). JSON routes take the key from
``Authorization: Bearer`` or ``X-API-Key``, like the rest of the API. HTML routes also take
it from ``?key=...`` (so a browser can open them): the server then answers with a redirect
to the same URL without the key and a ``promptyard_key`` cookie (HttpOnly, SameSite=Strict,
path ``/admin``, 12 h), so the key leaves the address bar and history at once.

- ``GET /admin/costs`` · ``GET /admin/costs.json``: ``days`` (1-366, default 30), ``project``
- ``GET /admin/traces`` · ``GET /admin/traces.json``: filters (see :class:`TraceFilter`)
- ``GET /admin/traces/{id}`` · ``GET /admin/traces/{id}.json``: one trace (404 when unknown)
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from promptyard.costs.dashboard import MAX_DAYS, CostDashboard, cost_dashboard
from promptyard.errors import AuthError, InvalidInput, NotFound
from promptyard.runtime import Runtime
from promptyard.server.auth import require, runtime_of
from promptyard.server.keys import ApiKey, KeyStore, Role
from promptyard.tracing.files import trace_dir
from promptyard.tracing.model import Trace
from promptyard.tracing.queries import TraceFilter, TraceSummary, children, get_summary, list_traces
from promptyard.tracing.reader import TraceReader
from promptyard.web.render import CSP, render, static_file
from promptyard.workspace.views import rendered_messages, retrieved_documents

router = APIRouter(prefix="/admin", tags=["admin"])

COOKIE = "promptyard_key"
COOKIE_MAX_AGE = 12 * 3600

Days = Annotated[int, Query(ge=1, le=MAX_DAYS, description="Number of UTC days, ending today.")]
Project = Annotated[str | None, Query(max_length=200, description="Only this project.")]
TraceId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


DayParam = Annotated[str | None, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$", description="UTC day, YYYY-MM-DD.")]


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name}: {value!r} is not a date", hint="use YYYY-MM-DD") from None


class _Filters:
    """Query parameters of the trace list (validated: out of range is 422; empty means any)."""

    def __init__(
        self,
        since: DayParam = None,
        until: DayParam = None,
        prompt: Annotated[str | None, Query(max_length=200)] = None,
        model: Annotated[str | None, Query(max_length=200)] = None,
        status: Annotated[Literal["", "ok", "error", "cancelled"] | None, Query()] = None,
        kind: Annotated[Literal["", "prompt", "chat", "rag", "transform", "judge", "eval"] | None, Query()] = None,
        project: Project = None,
        end_user: Annotated[str | None, Query(max_length=200)] = None,
        error_type: Annotated[str | None, Query(max_length=100)] = None,
        version: Annotated[str | None, Query(max_length=64)] = None,
        q: Annotated[
            str | None, Query(max_length=200, description="Free text: id, error, user, inputs, answer.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> None:
        self.value = TraceFilter(
            since=_day(since, "since"),
            until=_day(until, "until"),
            prompt=prompt or None,
            model=model or None,
            status=status or None,
            kind=kind or None,
            project=project or None,
            end_user=end_user or None,
            error_type=error_type or None,
            version=version or None,
            text=q or None,
            limit=limit,
            offset=offset,
        )


# ---- page auth ---------------------------------------------------------------------------
def _page_auth(request: Request, role: Role = "viewer") -> ApiKey | Response:
    """The caller's key for an HTML page, or the response to send instead (redirect, login)."""
    header = request.headers.get("authorization", "")
    secret = header[7:].strip() if header.lower().startswith("bearer ") else request.headers.get("x-api-key")
    from_query = request.query_params.get("key")
    secret = secret or from_query or request.cookies.get(COOKIE)
    keys = runtime_of(request).keys
    try:
        key = keys.verify(secret)
        KeyStore.require(key, role)
    except AuthError as exc:
        status = 403 if secret and exc.code == "forbidden" else 401
        page = _html(render("login.html", message=str(exc) if secret else None, path=request.url.path), status)
        if secret and status == 401:
            page.delete_cookie(COOKIE, path="/admin")
        return page
    if from_query:
        clean = request.url.remove_query_params("key")
        redirect = RedirectResponse(str(clean.path) + (f"?{clean.query}" if clean.query else ""), status_code=303)
        redirect.set_cookie(
            COOKIE,
            from_query,
            max_age=COOKIE_MAX_AGE,
            path="/admin",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return redirect
    request.state.api_key = key
    return key


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        body,
        status_code=status,
        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


def _search(rt: Runtime, f: TraceFilter) -> list[TraceSummary]:
    """Trace summaries for ``f``; free text also matches inside the full records (JSONL files)."""
    if f.text:
        found = TraceReader(trace_dir(rt.settings.home)).grep(f.text, since=f.since, until=f.until, limit=1000)
        f = f.model_copy(update={"text_ids": [t.trace_id for t in found]})
    return list_traces(rt.db, f)


def _dashboard(rt: Runtime, days: int, project: str | None) -> CostDashboard:
    s = rt.settings
    return cost_dashboard(
        rt.db, days=days, project=project, daily_budget_usd=s.daily_budget_usd, hard_stop=s.budget_hard_stop
    )


def _find(rt: Runtime, trace_id: str) -> tuple[Trace | None, TraceSummary | None, TraceReader]:
    reader = TraceReader(trace_dir(rt.settings.home))
    try:
        return reader.find(trace_id), None, reader
    except NotFound:
        summary = get_summary(rt.db, trace_id)
        if summary is None:
            raise
        return None, summary, reader


# ---- routes ----------------------------------------------------------------------------------
@router.get("", include_in_schema=False)
def admin_home() -> RedirectResponse:
    return RedirectResponse("/admin/costs", status_code=307)


@router.get("/costs.json", response_model=CostDashboard)
def costs_json(
    request: Request, days: Days = 30, project: Project = None, _key: ApiKey = Depends(require("viewer"))
) -> CostDashboard:
    """The cost dashboard's numbers: daily spend, splits, cache savings, latency, budget, alerts."""
    return _dashboard(runtime_of(request), days, project)


@router.get("/costs", response_class=HTMLResponse)
def costs_page(request: Request, days: Days = 30, project: Project = None) -> Response:
    """The cost dashboard (HTML, charts). Key: header, ``?key=`` or the ``promptyard_key`` cookie."""
    auth = _page_auth(request)
    if isinstance(auth, Response):
        return auth
    rt = runtime_of(request)
    data = _dashboard(rt, days, project)
    from promptyard.tracing.guard_rollup import guard_counts

    with rt.db.engine.connect() as conn:
        guards = guard_counts(conn, data.start, data.end, project)
    page = render("costs.html", d=data, data=data.model_dump(mode="json"), guards=guards, key=auth, active="costs")
    return _html(page)


@router.get("/traces.json")
def traces_json(
    request: Request, filters: _Filters = Depends(), _key: ApiKey = Depends(require("viewer"))
) -> dict[str, Any]:
    """Trace summaries, newest first."""
    f = filters.value
    rows = _search(runtime_of(request), f)
    return {"traces": [r.model_dump(mode="json") for r in rows], "limit": f.limit, "offset": f.offset}


@router.get("/traces", response_class=HTMLResponse)
def traces_page(request: Request, filters: _Filters = Depends()) -> Response:
    """A filterable list of traces."""
    auth = _page_auth(request)
    if isinstance(auth, Response):
        return auth
    f = filters.value
    rows = _search(runtime_of(request), f)
    return _html(render("traces.html", rows=rows, f=f, key=auth, active="traces"))


@router.get("/traces/{trace_id}.json")
def trace_json(request: Request, trace_id: TraceId, _key: ApiKey = Depends(require("viewer"))) -> dict[str, Any]:
    """One full trace from the JSONL files (or its SQL summary when the file is elsewhere)."""
    trace, summary, _reader = _find(runtime_of(request), trace_id)
    if trace is not None:
        return {"trace": trace.model_dump(mode="json"), "source": "jsonl"}
    assert summary is not None
    return {"trace": summary.model_dump(mode="json"), "source": "sql-summary"}


@router.get("/traces/{trace_id}", response_class=HTMLResponse)
def trace_page(request: Request, trace_id: TraceId) -> Response:
    """One trace: request, retrieval, provider, latency, outcome and the raw record."""
    auth = _page_auth(request)
    if isinstance(auth, Response):
        return auth
    rt = runtime_of(request)
    try:
        trace, summary, reader = _find(rt, trace_id)
    except NotFound as exc:
        return _html(render("not_found.html", message=str(exc), key=auth, active="traces"), 404)
    subs = children(rt.db, trace_id)
    raw = trace.model_dump_json(indent=2) if trace is not None else summary.model_dump_json(indent=2)  # type: ignore[union-attr]
    messages, render_note = rendered_messages(rt, trace) if trace is not None else ([], None)
    documents, documents_note = retrieved_documents(rt, trace) if trace is not None else ([], None)
    feedback, scores = rt.experiments.feedback(trace_id), rt.experiments.scores(trace_id)
    return _html(
        render(
            "trace.html",
            t=trace,
            s=summary,
            subs=subs,
            raw=raw,
            skipped=len(reader.skipped),
            messages=messages,
            render_note=render_note,
            documents=documents,
            documents_note=documents_note,
            feedback=feedback,
            scores=scores,
            key=auth,
            active="traces",
        )
    )


@router.get("/static/{name:path}", include_in_schema=False)
def static(name: str) -> Response:
    """Our CSS/JS and the vendored Chart.js (public: no data in them)."""
    path = static_file(name)
    if path is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})
