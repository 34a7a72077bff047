"""A scripted provider for tests: answers, fails and hangs on demand, and records every call.

::

    fake = FakeProvider()
    fake.script(rate_limited(retry_after=2), reply("hello"))     # next two calls
    fake.script(unavailable(529), model="primary")              # only for model "primary"
    fake.default = echo()                                       # after the script runs out
    fake.fail_share(0.2, model="candidate")                     # every 5th call of a model fails

Steps are consumed one per call (``complete`` or ``stream``): the model's own script
first, then the shared one, then :attr:`FakeProvider.default` (which echoes the last user
message). Register it for the real registry with
``plugins.register("promptyard.providers", "fake", lambda settings: fake)``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from promptyard.errors import BadRequest, ProviderError, ProviderTimeout, ProviderUnavailable, RateLimited
from promptyard.providers.base import CompletionRequest, CompletionResponse, StreamEvent, Timings, Usage
from promptyard.providers.http import error_from_type

if TYPE_CHECKING:
    from promptyard.settings import Settings

StepKind = Literal["reply", "echo", "rate_limited", "unavailable", "timeout", "hang", "bad_request", "stream_error"]


@dataclass
class Step:
    """One scripted behaviour. Build them with the functions below."""

    kind: StepKind
    text: str = ""
    finish_reason: str = "stop"
    usage: Usage | None = None
    delay_s: float = 0.0
    """Wait before answering (or before the first chunk)."""
    chunks: int | None = None
    """Stream the text in this many chunks (default: one per word)."""
    chunk_delay_s: float = 0.0
    retry_after: float | None = None
    status: int | None = None
    error_after: int = 0
    """``stream_error``: chunks sent before the in-stream error."""
    error_type: str = "overloaded_error"
    message: str = ""
    gate: asyncio.Event | None = None
    """Wait until this event is set before answering."""


def reply(
    text: str,
    *,
    delay_s: float = 0.0,
    usage: Usage | None = None,
    finish_reason: str = "stop",
    gate: asyncio.Event | None = None,
) -> Step:
    """Answer ``text``."""
    return Step("reply", text=text, delay_s=delay_s, usage=usage, finish_reason=finish_reason, gate=gate)


def json_reply(value: Any, *, delay_s: float = 0.0) -> Step:
    """Answer ``value`` serialized as JSON."""
    return reply(json.dumps(value), delay_s=delay_s)


def malformed_json(text: str = '{"answer": "unterminated') -> Step:
    """Answer text that is not valid JSON."""
    return reply(text)


def echo(*, delay_s: float = 0.0) -> Step:
    """Answer ``echo: <last user message>`` (the default)."""
    return Step("echo", delay_s=delay_s)


def slow_stream(text: str, *, chunks: int = 10, chunk_delay_s: float = 0.05) -> Step:
    """Stream ``text`` in ``chunks`` pieces, ``chunk_delay_s`` apart."""
    return Step("reply", text=text, chunks=chunks, chunk_delay_s=chunk_delay_s)


def rate_limited(retry_after: float | None = 1.0, *, delay_s: float = 0.0) -> Step:
    """Fail with :class:`RateLimited` (HTTP 429), carrying ``retry_after`` seconds."""
    return Step("rate_limited", retry_after=retry_after, status=429, delay_s=delay_s)


def unavailable(status: int = 503, *, delay_s: float = 0.0) -> Step:
    """Fail with :class:`ProviderUnavailable` (5xx; ``529`` is Anthropic's overloaded)."""
    return Step("unavailable", status=status, delay_s=delay_s)


def overloaded() -> Step:
    return unavailable(529)


def timeout() -> Step:
    """Fail at once with :class:`ProviderTimeout`, as an adapter whose HTTP read timed out."""
    return Step("timeout")


def hang() -> Step:
    """Never answer: wait until the caller cancels (the gateway's timeout)."""
    return Step("hang")


def bad_request(message: str = "invalid request") -> Step:
    """Fail with :class:`BadRequest` (a 4xx that must not be retried)."""
    return Step("bad_request", message=message, status=400)


def stream_error(after: int = 2, *, error_type: str = "overloaded_error", text: str = "partial answer here") -> Step:
    """Stream ``after`` chunks of ``text``, then an in-stream error event of ``error_type``."""
    return Step("stream_error", text=text, error_after=after, error_type=error_type)


def count_tokens(text: str) -> int:
    """The fake's deterministic token count: whitespace-separated words."""
    return len(text.split())


class FakeProvider:
    """A scripted :class:`~promptyard.providers.base.Provider`."""

    def __init__(self, *steps: Step, name: str = "fake", default: Step | None = None) -> None:
        self.name = name
        self.default = default or echo()
        self._shared: deque[Step] = deque(steps)
        self._by_model: dict[str, deque[Step]] = {}
        self.requests: list[CompletionRequest] = []
        """Every request received, in order."""
        self.calls_by_model: Counter[str] = Counter()
        self.cancelled = 0
        """Calls abandoned by their caller while in progress (``hang`` steps, cancelled streams)."""
        self.closed = False
        self._failing: dict[str | None, tuple[float, Step]] = {}

    @property
    def calls(self) -> int:
        return len(self.requests)

    def script(self, *steps: Step, model: str | None = None) -> FakeProvider:
        """Queue steps for the next calls (of ``model`` only, when given)."""
        queue = self._shared if model is None else self._by_model.setdefault(model, deque())
        queue.extend(steps)
        return self

    def fail_share(self, share: float, step: Step | None = None, *, model: str | None = None) -> FakeProvider:
        """From now on a ``share`` of the calls (of ``model`` only, when given) fail, evenly spread:
        0.2 fails the 5th, 10th, 15th... call. ``step`` is the failure (default ``unavailable(503)``).
        Scripted steps still come first; ``share=0`` stops the failures."""
        if share <= 0:
            self._failing.pop(model, None)
        else:
            self._failing[model] = (min(share, 1.0), step or unavailable())
        return self

    def reset(self) -> None:
        self._failing.clear()
        self._shared.clear()
        self._by_model.clear()
        self.requests.clear()
        self.calls_by_model.clear()
        self.cancelled = 0

    def _next(self, request: CompletionRequest) -> Step:
        self.requests.append(request)
        self.calls_by_model[request.model] += 1
        own = self._by_model.get(request.model)
        if own:
            return own.popleft()
        if self._shared:
            return self._shared.popleft()
        failing = self._failing.get(request.model) or self._failing.get(None)
        if failing is not None:
            share, step = failing
            k = self.calls_by_model[request.model] if request.model in self._failing else self.calls
            if int(k * share) > int((k - 1) * share):
                return step
        return self.default

    # ---- protocol ------------------------------------------------------------------
    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        start = time.perf_counter()
        step = self._next(request)
        await self._before(step)
        if step.kind == "stream_error":
            raise self._stream_error(step)
        text = self._text(step, request)
        if step.chunks:
            await asyncio.sleep(step.chunk_delay_s * step.chunks)
        total = (time.perf_counter() - start) * 1000.0
        return CompletionResponse(
            text=text,
            finish_reason=step.finish_reason,
            usage=self._usage(step, request, text),
            timings=Timings(ttft_ms=total, total_ms=total),
            request_id=f"fake-{self.calls}",
            provider=self.name,
            model=request.model,
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        step = self._next(request)
        try:
            await self._before(step, count_cancel=False)
            text = step.text if step.kind == "stream_error" else self._text(step, request)
            pieces = _split(text, step.chunks)
            for index, piece in enumerate(pieces):
                if step.kind == "stream_error" and index >= step.error_after:
                    break
                if index and step.chunk_delay_s:
                    await asyncio.sleep(step.chunk_delay_s)
                yield StreamEvent(delta=piece)
            if step.kind == "stream_error":
                raise self._stream_error(step)
            yield StreamEvent(
                finish_reason=step.finish_reason,
                usage=self._usage(step, request, text),
                request_id=f"fake-{self.calls}",
            )
        except (asyncio.CancelledError, GeneratorExit):
            self.cancelled += 1
            raise

    async def aclose(self) -> None:
        self.closed = True

    # ---- behaviour -------------------------------------------------------------------
    async def _before(self, step: Step, *, count_cancel: bool = True) -> None:
        try:
            if step.gate is not None:
                await step.gate.wait()
            if step.delay_s:
                await asyncio.sleep(step.delay_s)
            if step.kind == "hang":
                await asyncio.Event().wait()
        except asyncio.CancelledError:
            if count_cancel:
                self.cancelled += 1
            raise
        error = self._error(step)
        if error is not None:
            raise error

    def _error(self, step: Step) -> ProviderError | None:
        if step.kind == "rate_limited":
            return RateLimited(f"{self.name}: HTTP 429: rate limited", retry_after=step.retry_after, provider=self.name)
        if step.kind == "unavailable":
            return ProviderUnavailable(
                f"{self.name}: HTTP {step.status}: unavailable", provider=self.name, status=step.status
            )
        if step.kind == "timeout":
            return ProviderTimeout(f"{self.name}: timed out", provider=self.name)
        if step.kind == "bad_request":
            return BadRequest(f"{self.name}: HTTP 400: {step.message}", provider=self.name, status=400)
        return None

    def _stream_error(self, step: Step) -> ProviderError:
        return error_from_type(self.name, step.error_type, step.message or "injected stream error")

    @staticmethod
    def _text(step: Step, request: CompletionRequest) -> str:
        if step.kind == "echo":
            last = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
            return f"echo: {last}"
        return step.text

    @staticmethod
    def _usage(step: Step, request: CompletionRequest, text: str) -> Usage:
        if step.usage is not None:
            return step.usage
        return Usage(
            input_tokens=sum(count_tokens(m.content) for m in request.messages),
            output_tokens=count_tokens(text),
        )


def _split(text: str, chunks: int | None) -> list[str]:
    if not text:
        return []
    if chunks is None:
        words = text.split(" ")
        return [p for p in [w + " " for w in words[:-1]] + [words[-1]] if p]
    size = max(-(-len(text) // chunks), 1)
    return [text[i : i + size] for i in range(0, len(text), size)]


def create(settings: Settings) -> FakeProvider:
    """A fresh fake that echoes (tests usually register their own instance instead)."""
    return FakeProvider()


def configured(settings: Settings) -> bool:
    """Only when registered at run time (``plugins.register``), never from the entry point alone."""
    return False
