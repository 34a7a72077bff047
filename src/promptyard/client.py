"""Python clients for a promptyard server: :class:`Client` (sync) and :class:`AsyncClient`.

::

    from promptyard.client import Client

    with Client("http://127.0.0.1:8400", api_key="py_...") as py:
        result = py.run("summarize_email", label="production", variables={"email_body": "..."})
        print(result.text, result.cost_usd, result.trace_id)

        with py.stream("summarize_email", label="production", variables={...}) as stream:
            for delta in stream:
                print(delta, end="")
        print(stream.result)

        py.feedback(result.trace_id, thumbs="up", signals=["copied"])

Errors come back as the same :mod:`promptyard.errors` classes the server raised, chosen
by the error body's ``type`` (``prompt_not_found`` -> PromptNotFound, ``rate_limited`` ->
RateLimitExceeded with ``retry_after``, ...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal

import httpx
import orjson
from pydantic import BaseModel, Field

from promptyard import errors as e
from promptyard.chat import CacheMark, ChatMessage
from promptyard.experiments.feedback import Feedback
from promptyard.gateway.base import GatewayResult
from promptyard.prompts.records import PromptSummary
from promptyard.providers.base import Usage

DEFAULT_URL = "http://127.0.0.1:8400"


class RenderedPrompt(BaseModel):
    """What ``render`` returns: the messages a version renders to, and its cache marks."""

    name: str
    version: str
    messages: list[ChatMessage]
    cache_marks: list[CacheMark] = Field(default_factory=list)


# ---- errors ---------------------------------------------------------------------------


def _error_classes() -> dict[str, type[e.PromptyardError]]:
    found: dict[str, type[e.PromptyardError]] = {}
    pending: list[type[e.PromptyardError]] = [e.PromptyardError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    found["invalid_request"] = e.InvalidInput
    return found


_ERRORS = _error_classes()


def error_from_body(body: Any, status: int, retry_after: str | None = None) -> e.PromptyardError:
    """Rebuild the promptyard error a server answered with (OpenAI-shaped error body)."""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return e.PromptyardError(f"HTTP {status}: {str(body)[:500]}")
    cls = _ERRORS.get(str(err.get("type")), e.PromptyardError)
    hint = err.get("hint")
    message = str(err.get("message", f"HTTP {status}"))
    if hint and message.endswith(f" ({hint})"):
        message = message[: -len(hint) - 3]
    exc = cls.__new__(cls)
    e.PromptyardError.__init__(exc, message, hint=hint)
    exc.problems = list(err.get("problems") or [])  # type: ignore[attr-defined]
    exc.available = list(err.get("available") or [])  # type: ignore[attr-defined]
    if issubclass(cls, e.ProviderError):
        exc.provider = None  # type: ignore[attr-defined]
        exc.status = status  # type: ignore[attr-defined]
    if issubclass(cls, e.RateLimited | e.RateLimitExceeded):
        exc.retry_after = float(retry_after) if retry_after else None  # type: ignore[attr-defined]
    if issubclass(cls, e.OutputValidationError):
        exc.output = None  # type: ignore[attr-defined]
    return exc


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = response.text
    raise error_from_body(body, response.status_code, response.headers.get("retry-after"))


# ---- request bodies and answers -------------------------------------------------------


def _run_body(
    version: str | None,
    label: str | None,
    variables: dict[str, Any] | None,
    stream: bool,
    end_user: str | None,
    bypass_cache: bool,
    tenant: str | None,
    session: str | None = None,
) -> dict[str, Any]:
    if (version is None) == (label is None):
        raise e.InvalidInput("give exactly one of version= or label=")
    body: dict[str, Any] = {"variables": variables or {}, "stream": stream, "bypass_cache": bypass_cache}
    if version is not None:
        body["version"] = version
    if label is not None:
        body["label"] = label
    if end_user is not None:
        body["end_user"] = end_user
    if tenant is not None:
        body["tenant"] = tenant
    if session is not None:
        body["session"] = session
    return body


def _chat_body(model: str, messages: list[ChatMessage | dict[str, str]], options: dict[str, Any]) -> dict[str, Any]:
    extras = {k: options.pop(k) for k in ("variables", "end_user", "bypass_cache", "tenant") if k in options}
    body: dict[str, Any] = {
        "model": model,
        "messages": [m.model_dump() if isinstance(m, ChatMessage) else m for m in messages],
        **{k: v for k, v in options.items() if v is not None},
    }
    if extras:
        body["promptyard"] = extras
    return body


def _chat_result(completion: dict[str, Any]) -> GatewayResult:
    extras = completion.get("promptyard") or {}
    usage = completion.get("usage") or {}
    choice = completion["choices"][0]
    return GatewayResult(
        text=choice["message"].get("content") or "",
        finish_reason=choice.get("finish_reason") or "stop",
        usage=Usage(
            input_tokens=usage.get("prompt_tokens", 0),
            output_tokens=usage.get("completion_tokens", 0),
            cache_read_tokens=(usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0),
        ),
        **{k: v for k, v in extras.items() if k in GatewayResult.model_fields and v is not None},
    )


class _SSE:
    """Incremental parser for named server-sent events (``event:`` + ``data:``)."""

    def __init__(self) -> None:
        self.event = "message"
        self.data: list[str] = []

    def feed(self, line: str) -> tuple[str, Any] | None:
        if line == "":
            if not self.data:
                return None
            event, data = self.event, "\n".join(self.data)
            self.event, self.data = "message", []
            return event, orjson.loads(data)
        if line.startswith("event:"):
            self.event = line[6:].strip()
        elif line.startswith("data:"):
            self.data.append(line[5:].lstrip())
        return None


def _on_event(event: str, data: Any, stream: _StreamState) -> str | None:
    if event == "delta":
        return str(data["delta"])
    if event == "result":
        stream.result = GatewayResult.model_validate(data)
    elif event == "error":
        raise error_from_body(data, 502)
    return None


class _StreamState:
    result: GatewayResult | None = None


# ---- sync -------------------------------------------------------------------------------


class RunStream(_StreamState):
    """Iterate for text deltas; ``result`` holds the GatewayResult once the stream ends."""

    def __init__(self, response: httpx.Response, close: Callable[[], None]) -> None:
        self._response = response
        self._close = close

    def __iter__(self) -> Iterator[str]:
        parser = _SSE()
        for line in self._response.iter_lines():
            parsed = parser.feed(line)
            if parsed is not None:
                delta = _on_event(*parsed, self)
                if delta:
                    yield delta

    def close(self) -> None:
        self._close()

    def __enter__(self) -> RunStream:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _feedback_body(
    trace_id: str, thumbs: str | None, rating: float | None, comment: str | None, signals: list[str] | None
) -> bytes:
    return orjson.dumps(
        {"trace_id": trace_id, "thumbs": thumbs, "rating": rating, "comment": comment, "signals": signals or []}
    )


class Client:
    """A synchronous promptyard client (one keep-alive connection pool)."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)

    def run(
        self,
        name: str,
        *,
        label: str | None = None,
        version: str | None = None,
        variables: dict[str, Any] | None = None,
        end_user: str | None = None,
        bypass_cache: bool = False,
        tenant: str | None = None,
        session: str | None = None,
    ) -> GatewayResult:
        """Run a prompt through the gateway; exactly one of ``label`` or ``version``."""
        body = _run_body(version, label, variables, False, end_user, bypass_cache, tenant, session)
        response = self._http.post(f"/v1/prompts/{name}/run", content=orjson.dumps(body), headers=_JSON)
        _raise_for(response)
        return GatewayResult.model_validate_json(response.content)

    def stream(
        self,
        name: str,
        *,
        label: str | None = None,
        version: str | None = None,
        variables: dict[str, Any] | None = None,
        end_user: str | None = None,
        bypass_cache: bool = False,
        tenant: str | None = None,
        session: str | None = None,
    ) -> RunStream:
        """Stream a prompt's answer. Use as a context manager; iterate for text deltas."""
        body = _run_body(version, label, variables, True, end_user, bypass_cache, tenant, session)
        request = self._http.build_request("POST", f"/v1/prompts/{name}/run", content=orjson.dumps(body), headers=_JSON)
        response = self._http.send(request, stream=True)
        if response.status_code >= 400:
            response.read()
            response.close()
            _raise_for(response)
        return RunStream(response, response.close)

    def render(
        self,
        name: str,
        *,
        label: str | None = None,
        version: str | None = None,
        variables: dict[str, Any] | None = None,
    ) -> RenderedPrompt:
        """Render a version or label to messages without calling a model."""
        body = {"version": version, "label": label, "variables": variables or {}}
        response = self._http.post(f"/v1/prompts/{name}/render", content=orjson.dumps(body), headers=_JSON)
        _raise_for(response)
        return RenderedPrompt.model_validate_json(response.content)

    def chat(self, model: str, messages: list[ChatMessage | dict[str, str]], **options: Any) -> GatewayResult:
        """Raw chat through ``/v1/chat/completions``: ``model`` is ``provider/model`` or ``prompt:NAME@LABEL``.

        ``options``: OpenAI parameters (``temperature``, ``max_tokens``, ...) and promptyard's
        ``variables``, ``end_user``, ``bypass_cache``, ``tenant``.
        """
        body = _chat_body(model, messages, dict(options))
        response = self._http.post("/v1/chat/completions", content=orjson.dumps(body), headers=_JSON)
        _raise_for(response)
        return _chat_result(orjson.loads(response.content))

    def feedback(
        self,
        trace_id: str,
        *,
        thumbs: Literal["up", "down"] | None = None,
        rating: float | None = None,
        comment: str | None = None,
        signals: list[Literal["copied", "edited", "retried", "abandoned"]] | None = None,
    ) -> Feedback:
        """Feedback on a call's trace (``result.trace_id``): thumbs, a 0-5 rating, a comment, implicit signals."""
        body = _feedback_body(trace_id, thumbs, rating, comment, list(signals or []))
        response = self._http.post("/v1/feedback", content=body, headers=_JSON)
        _raise_for(response)
        return Feedback.model_validate_json(response.content)

    def list_prompts(self) -> list[PromptSummary]:
        response = self._http.get("/v1/prompts")
        _raise_for(response)
        return [PromptSummary.model_validate(p) for p in orjson.loads(response.content)]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


_JSON = {"content-type": "application/json"}


# ---- async ------------------------------------------------------------------------------


class AsyncRunStream(_StreamState):
    """``async for`` text deltas; ``result`` holds the GatewayResult once the stream ends."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[str]:
        parser = _SSE()
        async for line in self._response.aiter_lines():
            parsed = parser.feed(line)
            if parsed is not None:
                delta = _on_event(*parsed, self)
                if delta:
                    yield delta

    async def aclose(self) -> None:
        await self._response.aclose()

    async def __aenter__(self) -> AsyncRunStream:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()


class AsyncClient:
    """The asynchronous twin of :class:`Client`."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    async def run(
        self,
        name: str,
        *,
        label: str | None = None,
        version: str | None = None,
        variables: dict[str, Any] | None = None,
        end_user: str | None = None,
        bypass_cache: bool = False,
        tenant: str | None = None,
        session: str | None = None,
    ) -> GatewayResult:
        body = _run_body(version, label, variables, False, end_user, bypass_cache, tenant, session)
        response = await self._http.post(f"/v1/prompts/{name}/run", content=orjson.dumps(body), headers=_JSON)
        _raise_for(response)
        return GatewayResult.model_validate_json(response.content)

    async def stream(
        self,
        name: str,
        *,
        label: str | None = None,
        version: str | None = None,
        variables: dict[str, Any] | None = None,
        end_user: str | None = None,
        bypass_cache: bool = False,
        tenant: str | None = None,
        session: str | None = None,
    ) -> AsyncRunStream:
        body = _run_body(version, label, variables, True, end_user, bypass_cache, tenant, session)
        request = self._http.build_request("POST", f"/v1/prompts/{name}/run", content=orjson.dumps(body), headers=_JSON)
        response = await self._http.send(request, stream=True)
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            _raise_for(response)
        return AsyncRunStream(response)

    async def render(
        self,
        name: str,
        *,
        label: str | None = None,
        version: str | None = None,
        variables: dict[str, Any] | None = None,
    ) -> RenderedPrompt:
        body = {"version": version, "label": label, "variables": variables or {}}
        response = await self._http.post(f"/v1/prompts/{name}/render", content=orjson.dumps(body), headers=_JSON)
        _raise_for(response)
        return RenderedPrompt.model_validate_json(response.content)

    async def chat(self, model: str, messages: list[ChatMessage | dict[str, str]], **options: Any) -> GatewayResult:
        body = _chat_body(model, messages, dict(options))
        response = await self._http.post("/v1/chat/completions", content=orjson.dumps(body), headers=_JSON)
        _raise_for(response)
        return _chat_result(orjson.loads(response.content))

    async def feedback(
        self,
        trace_id: str,
        *,
        thumbs: Literal["up", "down"] | None = None,
        rating: float | None = None,
        comment: str | None = None,
        signals: list[Literal["copied", "edited", "retried", "abandoned"]] | None = None,
    ) -> Feedback:
        body = _feedback_body(trace_id, thumbs, rating, comment, list(signals or []))
        response = await self._http.post("/v1/feedback", content=body, headers=_JSON)
        _raise_for(response)
        return Feedback.model_validate_json(response.content)

    async def list_prompts(self) -> list[PromptSummary]:
        response = await self._http.get("/v1/prompts")
        _raise_for(response)
        return [PromptSummary.model_validate(p) for p in orjson.loads(response.content)]

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()


__all__ = ["AsyncClient", "AsyncRunStream", "Client", "RenderedPrompt", "RunStream", "error_from_body"]
