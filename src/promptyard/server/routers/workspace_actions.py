"""The workspace's form posts: lint, playground runs, drafts, review, release, rollback.

Forms are ``application/x-www-form-urlencoded``. The key comes from the ``promptyard_key``
cookie (SameSite=Strict) or a header; a post whose ``Origin`` is another site is refused.
Success answers 303 to the prompt page; a refusal (conflict, self-approval, wrong status)
re-renders the page with the reason and the matching status (409, 403, 422).

Roles: ``app`` runs the playground, saves drafts and submits them; ``admin`` approves,
rejects, releases and rolls back. The actor recorded is the key's name, so an author
cannot approve their own draft with any key of the same name.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from promptyard.errors import InvalidInput, PromptyardError
from promptyard.prompts.review import ReviewAction
from promptyard.server.auth import runtime_of
from promptyard.server.errors import status_for
from promptyard.server.keys import ApiKey, Role
from promptyard.server.routers.admin import _html, _page_auth
from promptyard.server.routers.workspace import Name, Version, page, playground_page, prompt_page
from promptyard.web.render import render
from promptyard.workspace.drafts import check_text, propose_draft
from promptyard.workspace.playground import coerce_variables, run_version

router = APIRouter(prefix="/admin/prompts", tags=["workspace"])

MAX_FORM_BYTES = 512 * 1024


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidInput("form too large")
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _auth(request: Request, role: Role) -> ApiKey | Response:
    origin = request.headers.get("origin")
    if origin and origin != f"{request.url.scheme}://{request.url.netloc}":
        return _html(render("login.html", key=None, message="cross-site form refused", path="/admin/prompts"), 403)
    return _page_auth(request, role)


def _done(name: str, version: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/prompts/{quote(name)}?v={quote(version)}&done={what}", status_code=303)


@router.post("/lint")
async def lint_text(request: Request) -> Response:
    """Lint issues for a draft's text (the editor calls this as you type)."""
    auth = _auth(request, "viewer")
    if isinstance(auth, Response):
        return JSONResponse({"error": "unauthorized"}, status_code=auth.status_code)
    try:
        payload: Any = await request.json()
    except ValueError:
        payload = None
    text = payload.get("text") if isinstance(payload, dict) else None
    if not isinstance(text, str) or len(text) > MAX_FORM_BYTES:
        return JSONResponse({"error": "text must be a string under 512 KiB"}, status_code=422)
    spec, issues = check_text(text)
    return JSONResponse(
        {"version": spec.version if spec else None, "issues": [i.model_dump() for i in issues]},
        headers={"Cache-Control": "no-store"},
    )


@router.post("/{name}/playground")
async def run_playground(request: Request, name: Name) -> Response:
    """Run one version (or two, on the same inputs) and show answer, cost, latency, citations."""
    auth = _auth(request, "app")
    if isinstance(auth, Response):
        return auth
    rt = runtime_of(request)
    form = await _form(request)
    version, compare, model = form.get("version", ""), form.get("compare") or None, form.get("model") or None
    try:
        spec = rt.registry.get(name, version).spec
        values = coerce_variables(spec, form)
        specs = [spec] + ([rt.registry.get(name, compare).spec] if compare and compare != version else [])
    except PromptyardError as exc:
        return playground_page(rt, auth, name, version or None, error=str(exc), status=status_for(exc))
    outcomes = await asyncio.gather(
        *(run_version(rt.gateway, s, values, model=model, api_key_id=auth.key_id) for s in specs)
    )
    return playground_page(rt, auth, name, version, values=values, compare=compare, model=model, outcomes=outcomes)


@router.post("/{name}/drafts")
async def save_draft(request: Request, name: Name) -> Response:
    """Store the edited text as a new draft version (refused if a newer file or version exists)."""
    auth = _auth(request, "app")
    if isinstance(auth, Response):
        return auth
    rt = runtime_of(request)
    form = await _form(request)
    base, text = form.get("base", ""), form.get("text", "").replace("\r\n", "\n")
    try:
        version = propose_draft(
            rt.db, name=name, base_version=base, text=text, actor=auth.name, prompts_dir=rt.settings.prompts_dir
        )
    except PromptyardError as exc:
        message = str(exc) + (f" ({exc.hint})" if exc.hint else "")
        return page(
            "ws_edit.html",
            auth,
            status_for(exc),
            name=name,
            base=base,
            latest=None,
            suggested=None,
            text=text,
            error=message,
        )
    if form.get("submit"):
        rt.registry.review(name, version, "submit", actor=auth.name, comment=form.get("comment") or None)
        return _done(name, version, "submit")
    return _done(name, version, "draft")


_REVIEW_ROLE: dict[str, Role] = {"submit": "app", "approve": "admin", "reject": "admin"}


@router.post("/{name}/versions/{version}/review")
async def review(request: Request, name: Name, version: Version) -> Response:
    """Submit (app), approve or reject (admin, not the author) with a comment."""
    form = await _form(request)
    action = form.get("action", "")
    if action not in _REVIEW_ROLE:
        return Response("unknown review action", status_code=422, media_type="text/plain")
    auth = _auth(request, _REVIEW_ROLE[action])
    if isinstance(auth, Response):
        return auth
    rt = runtime_of(request)
    act: ReviewAction = "submit" if action == "submit" else "approve" if action == "approve" else "reject"
    try:
        rt.registry.review(name, version, act, actor=auth.name, comment=form.get("comment") or None)
    except PromptyardError as exc:
        return prompt_page(rt, auth, name, version, status=status_for(exc), error=_say(exc))
    return _done(name, version, act)


@router.post("/{name}/versions/{version}/release")
async def release(request: Request, name: Name, version: Version) -> Response:
    """Point a label at an approved version (admin)."""
    auth = _auth(request, "admin")
    if isinstance(auth, Response):
        return auth
    rt = runtime_of(request)
    form = await _form(request)
    try:
        rt.registry.release(
            name, version, actor=auth.name, label=form.get("label") or "production", reason=form.get("reason") or None
        )
    except PromptyardError as exc:
        return prompt_page(rt, auth, name, version, status=status_for(exc), error=_say(exc))
    return _done(name, version, "release")


@router.post("/{name}/labels/{label}/rollback")
async def rollback(request: Request, name: Name, label: Version) -> Response:
    """Move a label back to where it pointed before its last move (admin)."""
    auth = _auth(request, "admin")
    if isinstance(auth, Response):
        return auth
    rt = runtime_of(request)
    form = await _form(request)
    try:
        move = rt.registry.rollback(name, label, actor=auth.name, reason=form.get("reason") or None)
    except PromptyardError as exc:
        return prompt_page(rt, auth, name, None, status=status_for(exc), error=_say(exc))
    return _done(name, move.to_version or "", "rollback")


def _say(exc: PromptyardError) -> str:
    return str(exc) + (f" ({exc.hint})" if exc.hint else "")


__all__ = ["router"]
