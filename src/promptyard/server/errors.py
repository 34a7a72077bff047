"""The one place where promptyard errors become HTTP statuses.

Bodies follow the OpenAI error shape (``{"error": {"message", "type", "code"}}``) so
OpenAI SDK clients show them well, with promptyard's extras: ``hint``, ``problems``
(every validation problem) and ``available`` (what exists, when something does not).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from promptyard import dependencies
from promptyard import errors as e


def dependency_failed(exc: e.DependencyUnavailable) -> None:
    """Count and log a request answered 503 because a dependency is down (``/metrics``)."""
    field = f"{exc.dependency}_errors"
    if hasattr(dependencies.STATS, field):
        setattr(dependencies.STATS, field, getattr(dependencies.STATS, field) + 1)
    dependencies.failed(exc.dependency, "request answered 503", exc)


STATUS: dict[type[e.PromptyardError], int] = {
    e.ConfigError: 500,
    e.AuthError: 401,
    e.PermissionDenied: 403,
    e.PromptNotFound: 404,
    e.NotFound: 404,
    e.PromptFileError: 400,
    e.UnsafeTemplateError: 400,
    e.VersionConflict: 409,
    e.ReviewError: 409,
    e.RenderError: 422,
    e.VariableValidationError: 422,
    e.InvalidInput: 422,
    e.ExperimentError: 409,
    e.EvalGateRefused: 409,
    e.UnknownModel: 400,
    e.RateLimited: 429,
    e.ProviderUnavailable: 503,
    e.ProviderTimeout: 504,
    e.BadRequest: 502,
    e.ProviderError: 502,
    e.OutputValidationError: 502,
    e.RateLimitExceeded: 429,
    e.BudgetExceeded: 402,
    e.GuardBlocked: 400,
    e.StoreError: 503,
    e.StoreUnavailable: 503,
    e.DependencyUnavailable: 503,
}


def status_for(exc: e.PromptyardError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(exc: e.PromptyardError) -> dict[str, Any]:
    err: dict[str, Any] = {"message": str(exc), "type": exc.code, "code": exc.code}
    if isinstance(exc, e.DependencyUnavailable):
        err["dependency"] = exc.dependency
    if exc.hint:
        err["hint"] = exc.hint
    problems = getattr(exc, "problems", None)
    if problems:
        err["problems"] = list(problems)
    if isinstance(exc, e.GuardBlocked):
        err["guard"], err["stage"], err["where"], err["score"] = exc.guard, exc.stage, exc.where, exc.score
    available = getattr(exc, "available", None)
    if available:
        err["available"] = list(available)
    return {"error": err}


def error_headers(exc: e.PromptyardError) -> dict[str, str]:
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(exc, e.DependencyUnavailable):
        return {"Retry-After": "1"}
    if retry_after is not None:
        return {"Retry-After": str(max(1, round(retry_after)))}
    if isinstance(exc, e.AuthError) and not isinstance(exc, e.PermissionDenied):
        return {"WWW-Authenticate": "Bearer"}
    return {}


def error_response(exc: e.PromptyardError) -> JSONResponse:
    return JSONResponse(error_body(exc), status_code=status_for(exc), headers=error_headers(exc))


def install(app: FastAPI) -> None:
    async def on_promptyard_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, e.PromptyardError)
        if isinstance(exc, e.DependencyUnavailable):
            dependency_failed(exc)
        return error_response(exc)

    async def on_redis_error(_request: Request, exc: Exception) -> JSONResponse:
        err = e.DependencyUnavailable("redis", f"Redis is unreachable: {type(exc).__name__}: {exc}")
        dependency_failed(err)
        return error_response(err)

    async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        body = {
            "error": {
                "message": "invalid request body",
                "type": "invalid_request",
                "code": "invalid_request",
                "problems": problems,
            }
        }
        return JSONResponse(body, status_code=422)

    app.add_exception_handler(e.PromptyardError, on_promptyard_error)
    app.add_exception_handler(RedisConnectionError, on_redis_error)
    app.add_exception_handler(RedisTimeoutError, on_redis_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
