"""Request bodies parsed straight from bytes with one pydantic call (no FastAPI body machinery).

A malformed body becomes FastAPI's ``RequestValidationError``, which ``server/errors.py``
turns into a 422 listing every field error.
"""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


async def parse_body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    if not raw:
        raise RequestValidationError([{"loc": ("body",), "msg": "a JSON body is required", "type": "missing"}])
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**err, "loc": ("body", *err["loc"])} for err in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None
