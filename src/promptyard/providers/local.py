"""The ``local`` provider: SmolLM2-135M-Instruct through llama-cpp-python, in process.

The model is loaded once per process and shared by every ``LocalProvider`` with the same
settings (see :mod:`promptyard.providers.llama_model`). Generations run in worker threads
(``PROMPTYARD_LOCAL_CONCURRENCY`` of them), never on the event loop; tokens travel back
through an asyncio queue. When the caller goes away (a gateway timeout cancels the task,
a streaming client disconnects) a flag is set and the worker stops before its next token.

``response_format`` json_schema / json_object constrain sampling with a llama.cpp grammar
(the JSON Schema is converted to GBNF once per schema). Token counts are exact: the
tokenized prompt and every generated token except the end-of-generation token.

Model names: ``smollm2-135m-instruct``, ``smollm2``, ``default`` or the GGUF file's stem.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from promptyard.errors import (
    BadRequest,
    PromptyardError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    UnknownModel,
)
from promptyard.providers.base import CompletionRequest, CompletionResponse, StreamEvent, Timings, Usage
from promptyard.providers.llama_model import (
    GenerationParams,
    GenerationResult,
    LoadedModel,
    ModelPool,
    default_threads,
    model_pool,
)
from promptyard.providers.local_models import configured_gguf

if TYPE_CHECKING:
    from promptyard.settings import Settings

MODEL_NAMES = ("smollm2-135m-instruct", "smollm2", "default")


@lru_cache(maxsize=64)
def _schema_grammar(schema_json: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return str(json_schema_to_gbnf(schema_json))


def grammar_for(request: CompletionRequest) -> str | None:
    """GBNF for the request's response format (None for plain text)."""
    fmt = request.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_schema" and fmt.json_schema is not None:
        try:
            return _schema_grammar(json.dumps(fmt.json_schema, sort_keys=True))
        except Exception as exc:
            raise BadRequest(
                f"local: cannot turn this JSON Schema into a grammar: {exc}",
                provider="local",
                hint="the local model supports the JSON Schema subset of llama.cpp's json_schema_to_grammar",
            ) from exc
    from llama_cpp.llama_grammar import JSON_GBNF

    return str(JSON_GBNF)


class LocalProvider:
    """Chat completions from the in-process llama.cpp model."""

    def __init__(self, pool: ModelPool, *, name: str = "local") -> None:
        self.name = name
        self.pool = pool
        self.models = sorted({*MODEL_NAMES, pool.path.stem.lower()})
        self.constraints = frozenset({"cited_extractive"})
        """Decoding-constraint kinds this provider applies (``CompletionRequest.constraint``)."""
        self.cancelled = 0
        """Calls whose caller went away (timeout, cancellation, closed stream) before the end."""
        self.stopped_early = 0
        """Generations the worker stopped between tokens because of such a cancellation."""
        self.last_stopped_tokens = 0
        """Tokens the last stopped generation had produced when it stopped."""

    async def warmup(self) -> None:
        """Load the model now instead of on the first call."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.pool.executor, self.pool.run, _noop)

    def load(self) -> None:
        """Load the model now, blocking (for start-up code and test fixtures outside a loop)."""
        self.pool.executor.submit(self.pool.run, _noop).result()

    def _params(self, request: CompletionRequest) -> GenerationParams:
        if request.model.lower() not in self.models:
            raise UnknownModel(f"the local provider has no model {request.model!r}", available=self.models)
        params = GenerationParams(
            max_tokens=request.max_tokens,
            stop=list(request.stop),
            seed=request.seed,
            grammar=grammar_for(request),
            constraint=request.constraint,
        )
        if request.constraint is not None and params.grammar is not None:
            raise BadRequest(
                "local: a decoding constraint and a JSON response format cannot be combined", provider=self.name
            )
        if request.temperature is not None:
            params.temperature = request.temperature
        if request.top_p is not None:
            params.top_p = request.top_p
        top_k = request.extra.get("local_top_k")
        if isinstance(top_k, int):
            params.top_k = top_k
        return params

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        start = time.perf_counter()
        ttft: float | None = None
        parts: list[str] = []
        final: StreamEvent | None = None
        async for event in self.stream(request):
            if event.delta:
                if ttft is None:
                    ttft = (time.perf_counter() - start) * 1000.0
                parts.append(event.delta)
            if event.finish_reason is not None:
                final = event
        assert final is not None  # stream() always ends with a final event or raises
        total = (time.perf_counter() - start) * 1000.0
        return CompletionResponse(
            text="".join(parts),
            finish_reason=final.finish_reason or "stop",
            usage=final.usage or Usage(),
            timings=Timings(ttft_ms=ttft if ttft is not None else total, total_ms=total),
            request_id=final.request_id,
            provider=self.name,
            model=request.model,
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        params = self._params(request)
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        cancelled = threading.Event()

        def put(kind: str, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(events.put_nowait, (kind, value))
            except RuntimeError:  # the event loop is gone: nobody is listening
                cancelled.set()

        def work(model: LoadedModel) -> None:
            if cancelled.is_set():
                return
            try:
                result = model.generate(messages, params, cancelled, lambda text: put("delta", text))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                put("error", exc)
            else:
                if result.finish_reason == "cancelled":
                    self.stopped_early += 1
                    self.last_stopped_tokens = result.completion_tokens
                put("done", result)

        future = self.pool.executor.submit(self.pool.run, work)
        deadline = None if request.timeout_s is None else loop.time() + request.timeout_s
        finished = False
        try:
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        kind, value = await events.get()
                except TimeoutError:
                    raise ProviderTimeout(
                        f"local: no answer within {request.timeout_s:g}s", provider=self.name
                    ) from None
                if kind == "delta":
                    yield StreamEvent(delta=value)
                elif kind == "done":
                    finished = True
                    result: GenerationResult = value
                    usage = Usage(input_tokens=result.prompt_tokens, output_tokens=result.completion_tokens)
                    yield StreamEvent(finish_reason=result.finish_reason, usage=usage)
                    return
                else:
                    finished = True
                    raise _translate(value)
        finally:
            if not finished:
                cancelled.set()
                future.cancel()
                self.cancelled += 1

    async def aclose(self) -> None:
        """Nothing to release per instance: the model is shared by the process."""


def _noop(model: LoadedModel) -> None:
    return None


def _translate(exc: BaseException) -> PromptyardError:
    if isinstance(exc, PromptyardError):
        return exc
    if isinstance(exc, ValueError):
        return BadRequest(f"local: {exc}", provider="local")
    error: ProviderError = ProviderUnavailable(f"local: generation failed: {exc.__class__.__name__}: {exc}")
    error.provider = "local"
    error.__cause__ = exc
    return error


def create(settings: Settings) -> LocalProvider:
    """The ``local`` provider from ``PROMPTYARD_LOCAL_*`` (the model loads on first use)."""
    pool = model_pool(
        configured_gguf(settings),
        n_ctx=settings.local_n_ctx,
        threads=default_threads(settings.local_threads),
        size=settings.local_concurrency,
        check=settings.local_runtime_check,
        prompt_format=settings.local_prompt_format,
    )
    return LocalProvider(pool)


def preflight(settings: Settings) -> None:
    """Prove the llama.cpp runtime and model file work here, before serving (once per build, see
    :mod:`.llama_probe`). Raises :class:`~promptyard.errors.LocalRuntimeBroken` with the fix."""
    from promptyard.providers.llama_probe import ensure_local_runtime

    ensure_local_runtime(configured_gguf(settings), settings.local_runtime_check)


def configured(settings: Settings) -> bool:
    """Always usable: the model ships with the package."""
    return True
