"""A tiny stand-in for the gateway, used until (and beside) the real pipeline.

It follows ``gateway/base.py`` exactly: ``run``/``chat`` return a GatewayResult,
``run_stream``/``chat_stream`` return a GatewayStream whose ``result`` is set once
exhausted, and ``aclose`` records the trace (``cancelled`` when the stream was cut).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

from promptyard.errors import PromptNotFound, UnknownModel
from promptyard.gateway.base import ChatCall, GatewayResult, PromptCall
from promptyard.providers.base import StreamEvent, Usage
from promptyard.tracing.model import MemoryRecorder, Trace, new_trace_id

MODELS = ["fake/echo"]
PROMPTS = {"greet": {"production": "1.0.0"}}


class StandInStream:
    def __init__(self, gateway: StandInGateway, words: list[str], trace: Trace, result: GatewayResult) -> None:
        self._gw = gateway
        self._words = words
        self._trace = trace
        self._final = result
        self.result: GatewayResult | None = None
        self._closed = False

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[StreamEvent]:
        try:
            for i, word in enumerate(self._words):
                if self._gw.delay:
                    await asyncio.sleep(self._gw.delay)
                self._gw.chunks_sent += 1
                yield StreamEvent(delta=word if i == 0 else " " + word)
            yield StreamEvent(finish_reason="stop", usage=self._final.usage)
            self.result = self._final
        except asyncio.CancelledError:
            self._gw.cancelled.set()
            self._trace.status = "cancelled"
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.result is None and self._trace.status == "ok":
            self._trace.status = "cancelled"
        self._gw.recorder.record(self._trace)


class StandInGateway:
    def __init__(self, text: str = "Hello from the stand in", delay: float = 0.0) -> None:
        self.text = text
        self.delay = delay
        self.recorder = MemoryRecorder()
        self.calls: list[PromptCall | ChatCall] = []
        self.cancelled = threading.Event()
        self.chunks_sent = 0

    def _result(self, call: PromptCall | ChatCall) -> tuple[GatewayResult, Trace]:
        self.calls.append(call)
        trace = Trace(trace_id=new_trace_id(), end_user=call.context.end_user, api_key_id=call.context.api_key_id)
        if isinstance(call, PromptCall):
            labels = PROMPTS.get(call.name)
            if labels is None:
                raise PromptNotFound(f"no prompt named {call.name!r}", available=sorted(PROMPTS))
            version = call.version or labels.get(call.label or "")
            if version is None:
                raise PromptNotFound(f"prompt {call.name!r} has no label {call.label!r}", available=sorted(labels))
            text = f"{self.text} {call.variables}"
            prompt, provider, model = f"{call.name}@{version}", "fake", "echo"
        else:
            if call.model not in MODELS:
                raise UnknownModel(f"unknown model {call.model!r}", available=MODELS)
            text = self.text
            prompt = None
            provider, model = call.model.split("/", 1)
        usage = Usage(input_tokens=7, output_tokens=len(text.split()), cache_read_tokens=3)
        result = GatewayResult(
            text=text,
            provider=provider,
            model=model,
            usage=usage,
            cost_usd=0.001,
            trace_id=trace.trace_id,
            prompt=prompt,
        )
        return result, trace

    async def run(self, call: PromptCall) -> GatewayResult:
        result, trace = self._result(call)
        self.recorder.record(trace)
        return result

    async def chat(self, call: ChatCall) -> GatewayResult:
        result, trace = self._result(call)
        self.recorder.record(trace)
        return result

    def run_stream(self, call: PromptCall) -> StandInStream:
        return self._stream(call)

    def chat_stream(self, call: ChatCall) -> StandInStream:
        return self._stream(call)

    def _stream(self, call: PromptCall | ChatCall) -> StandInStream:
        try:
            result, trace = self._result(call)
        except Exception as exc:
            return _FailingStream(exc)  # type: ignore[return-value]
        return StandInStream(self, result.text.split(), trace, result)


class _FailingStream:
    """Errors surface on the first pull, as a lazy pipeline would raise them."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.result = None

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[StreamEvent]:
        raise self.exc
        yield StreamEvent()  # pragma: no cover

    async def aclose(self) -> None:
        return None
