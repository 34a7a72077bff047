"""Prompt registry API: read (viewer), render (app), label moves and review (admin).

The actor recorded in the audit log for a change made over HTTP is the API key's name.
Unknown prompts, versions and labels answer 404 naming what exists; variables that fail
validation answer 422 listing every problem.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from promptyard.chat import CacheMark, ChatMessage
from promptyard.prompts.labels import LabelMove
from promptyard.prompts.records import (
    HistoryEvent,
    LabelInfo,
    PromptSummary,
    PromptVersion,
    ReviewEvent,
    VersionBrief,
)
from promptyard.prompts.render import render_prompt
from promptyard.server.auth import require, runtime_of
from promptyard.server.keys import ApiKey

router = APIRouter(prefix="/v1/prompts", tags=["prompts"])

_viewer = Depends(require("viewer"))
_app = Depends(require("app"))
_admin = Depends(require("admin"))


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromptDetail(BaseModel):
    name: str
    versions: list[VersionBrief]
    labels: list[LabelInfo]


class LabelTarget(BaseModel):
    label: LabelInfo
    prompt: PromptVersion


class RenderRequest(_Body):
    """Exactly one of ``version`` or ``label``: there is no implicit latest."""

    version: str | None = None
    label: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)


class RenderResponse(BaseModel):
    name: str
    version: str
    messages: list[ChatMessage]
    cache_marks: list[CacheMark]
    """Each mark: the first ``index`` messages form the stable, cacheable prefix."""


class LabelRequest(_Body):
    version: str
    reason: str | None = None


class RollbackRequest(_Body):
    reason: str | None = None


class ReviewRequest(_Body):
    action: Literal["submit", "approve", "reject"]
    comment: str | None = None


class ReleaseRequest(_Body):
    label: str = "production"
    reason: str | None = None


@router.get("", summary="List prompts with their versions and labels")
def list_prompts(request: Request, _key: ApiKey = _viewer) -> list[PromptSummary]:
    return runtime_of(request).registry.list_prompts()


@router.get("/{name}", summary="One prompt: its versions and labels")
def get_prompt(name: str, request: Request, _key: ApiKey = _viewer) -> PromptDetail:
    registry = runtime_of(request).registry
    return PromptDetail(name=name, versions=registry.versions(name), labels=registry.labels(name))


@router.get("/{name}/versions/{version}", summary="One immutable version: source, spec, hash, status")
def get_version(name: str, version: str, request: Request, _key: ApiKey = _viewer) -> PromptVersion:
    return runtime_of(request).registry.get(name, version)


@router.get("/{name}/labels/{label}", summary="Where a label points, with that version")
def get_label(name: str, label: str, request: Request, _key: ApiKey = _viewer) -> LabelTarget:
    registry = runtime_of(request).registry
    info = registry.label(name, label)
    return LabelTarget(label=info, prompt=registry.get(name, info.version))


@router.post("/{name}/render", summary="Render a pinned version or label with variables")
def render(name: str, body: RenderRequest, request: Request, _key: ApiKey = _app) -> RenderResponse:
    spec = runtime_of(request).registry.resolve(name, version=body.version, label=body.label)
    rendered = render_prompt(spec, body.variables)
    return RenderResponse(
        name=spec.name,
        version=spec.version,
        messages=list(rendered.messages),
        cache_marks=list(rendered.cache_marks),
    )


@router.put("/{name}/labels/{label}", summary="Point a label at a version (release)")
def set_label(name: str, label: str, body: LabelRequest, request: Request, key: ApiKey = _admin) -> LabelMove:
    return runtime_of(request).registry.set_label(name, label, body.version, actor=key.name, reason=body.reason)


@router.post("/{name}/labels/{label}/rollback", summary="Move a label back to its previous version")
def rollback(
    name: str, label: str, request: Request, body: RollbackRequest | None = None, key: ApiKey = _admin
) -> LabelMove:
    reason = body.reason if body else None
    return runtime_of(request).registry.rollback(name, label, actor=key.name, reason=reason)


@router.get("/{name}/history", summary="Label moves and review events, oldest first")
def history(name: str, request: Request, _key: ApiKey = _viewer) -> list[HistoryEvent]:
    return runtime_of(request).registry.history(name)


@router.post("/{name}/versions/{version}/review", summary="Review flow: submit, approve or reject")
def review(name: str, version: str, body: ReviewRequest, request: Request, key: ApiKey = _admin) -> ReviewEvent:
    return runtime_of(request).registry.review(name, version, body.action, actor=key.name, comment=body.comment)


@router.post("/{name}/versions/{version}/release", summary="Release an approved version under a label")
def release(
    name: str, version: str, request: Request, body: ReleaseRequest | None = None, key: ApiKey = _admin
) -> LabelMove:
    body = body or ReleaseRequest()
    return runtime_of(request).registry.release(name, version, actor=key.name, label=body.label, reason=body.reason)
