"""API key management (admin only). The secret is returned once, at creation; only its hash is stored."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field

from promptyard.server.auth import require, runtime_of
from promptyard.server.keys import ApiKey, CreatedKey, Role

router = APIRouter(prefix="/v1/keys", tags=["keys"])

_admin = Depends(require("admin"))


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Who or what the key is for.")
    role: Role = Field(default="app", description="admin (labels, keys), app (render, run) or viewer (read).")


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an API key (the secret is shown once)")
def create_key(body: KeyRequest, request: Request, _key: ApiKey = _admin) -> CreatedKey:
    return runtime_of(request).keys.create(body.name, body.role)


@router.get("", summary="List API keys (never their secrets)")
def list_keys(request: Request, _key: ApiKey = _admin) -> list[ApiKey]:
    return runtime_of(request).keys.list()


@router.delete("/{key_id}", summary="Revoke an API key")
def revoke_key(key_id: str, request: Request, _key: ApiKey = _admin) -> ApiKey:
    return runtime_of(request).keys.revoke(key_id)
