"""Streaming through the pipeline: events, result, cache, retries before the first token,
silence timeout, and a client that goes away."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from promptyard.chat import ChatMessage
from promptyard.errors import OutputValidationError, PromptNotFound, ProviderTimeout, ProviderUnavailable
from promptyard.gateway.base import ChatCall, PromptCall
from promptyard.gateway.pipeline import Gateway
from promptyard.prompts.model import ModelConfig, OutputRules
from promptyard.providers.base import StreamEvent
from promptyard.providers.fake import FakeProvider, Step, hang, rate_limited, reply, slow_stream, stream_error
from promptyard.settings import Settings
from promptyard.tracing.model import MemoryRecorder

from .conftest import Prompts, make_spec


def call(who: str = "Ada", name: str = "greet") -> PromptCall:
    return PromptCall(name=name, label="production", variables={"who": who})


async def collect(stream: object) -> list[StreamEvent]:
    return [event async for event in stream]  # type: ignore[attr-defined]


async def test_stream_yields_deltas_then_a_final_event_and_sets_the_result(
    gateway: Gateway, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    fake.script(reply("Hello there, Ada!"))
    stream = gateway.run_stream(call())
    events = await collect(stream)
    assert "".join(e.delta for e in events) == "Hello there, Ada!"
    final = events[-1]
    assert final.finish_reason == "stop"
    assert final.usage is not None
    assert final.usage.output_tokens == 3
    assert stream.result is not None
    assert stream.result.text == "Hello there, Ada!"
    assert stream.result.cost_usd > 0
    [trace] = recorder.traces
    assert trace.stream
    assert trace.status == "ok"
    assert trace.latency.ttft_ms is not None
    assert trace.answer == "Hello there, Ada!"
    assert trace.output_tokens == 3


async def test_a_streamed_answer_is_cached_and_replayed_as_a_stream(gateway: Gateway, fake: FakeProvider) -> None:
    fake.script(reply("cached words here"))
    await collect(gateway.run_stream(call()))
    stream = gateway.run_stream(call())
    events = await collect(stream)
    assert "".join(e.delta for e in events) == "cached words here"
    assert stream.result is not None
    assert stream.result.cache_hit
    assert fake.calls == 1
    # and a non-streaming call hits the same entry
    assert (await gateway.run(call())).cache_hit


async def test_stream_retries_before_the_first_token(gateway: Gateway, fake: FakeProvider) -> None:
    fake.script(rate_limited(retry_after=1.0), reply("second try"))
    stream = gateway.run_stream(call())
    assert "".join(e.delta for e in await collect(stream)) == "second try"
    assert stream.result is not None
    assert stream.result.retries == 1


async def test_an_error_inside_the_stream_is_raised_and_traced(
    gateway: Gateway, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    fake.script(stream_error(after=2, text="partial answer here"))
    received: list[str] = []

    async def consume() -> None:
        async for event in gateway.run_stream(call()):
            received.append(event.delta)

    with pytest.raises(ProviderUnavailable):
        await consume()
    assert "".join(received) == "partial answer "
    trace = recorder.traces[-1]
    assert trace.status == "error"
    assert "usage_estimated" in trace.flags
    assert trace.output_tokens > 0
    assert not (await gateway.run(call())).cache_hit  # nothing was cached


async def test_client_disconnect_cancels_the_provider_stream_and_writes_the_trace(
    gateway: Gateway, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    fake.script(slow_stream("one two three four five six", chunks=6, chunk_delay_s=30))
    stream = gateway.run_stream(call())
    first = asyncio.Event()

    async def consume() -> None:
        async for _event in stream:
            first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()  # what the server does when the HTTP client goes away
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake.cancelled == 1
    [trace] = recorder.traces
    assert trace.status == "cancelled"
    assert trace.error_type == "cancelled"
    assert trace.stream
    assert trace.output_tokens >= 1
    assert "usage_estimated" in trace.flags
    assert gateway.stats.cancelled == 1


async def test_aclose_mid_stream_cancels_the_provider_stream(
    gateway: Gateway, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    fake.script(slow_stream("a b c d", chunks=4, chunk_delay_s=30))
    stream = gateway.chat_stream(ChatCall(model="fake/m1", messages=[ChatMessage(role="user", content="hi")]))
    iterator = aiter(stream)
    await anext(iterator)
    await stream.aclose()
    assert fake.cancelled == 1
    assert recorder.traces[-1].status == "cancelled"
    assert recorder.traces[-1].kind == "chat"


async def test_closing_an_unstarted_stream_still_traces(gateway: Gateway, recorder: MemoryRecorder) -> None:
    stream = gateway.run_stream(call())
    await stream.aclose()
    assert [t.status for t in recorder.traces] == ["cancelled"]


async def test_stream_silence_timeout(
    make_gateway: Callable[..., Gateway], fake: FakeProvider, recorder: MemoryRecorder, tmp_path: object
) -> None:
    gw = make_gateway(settings=Settings(home=tmp_path, request_timeout_s=0.05, max_retries=0))
    fake.script(hang())
    with pytest.raises(ProviderTimeout, match=r"sent nothing for 0\.05 s"):
        await collect(gw.run_stream(call()))
    assert fake.cancelled == 1
    assert recorder.traces[-1].error_type == "provider_timeout"


async def test_bad_reference_fails_when_the_stream_is_requested(gateway: Gateway, recorder: MemoryRecorder) -> None:
    with pytest.raises(PromptNotFound):
        gateway.run_stream(PromptCall(name="ghost", label="production"))
    assert recorder.traces[-1].status == "error"


async def test_invalid_streamed_output_ends_the_stream_with_the_problems(
    make_gateway: Callable[..., Gateway], prompts: Prompts, fake: FakeProvider
) -> None:
    prompts.add(
        make_spec("js", model=ModelConfig(provider="fake", model="m1", response_format="json"), output=OutputRules()),
        label="production",
    )
    fake.script(Step("reply", text="not json at all"))
    gw = make_gateway()
    with pytest.raises(OutputValidationError) as err:
        await collect(gw.run_stream(call(name="js")))
    assert "not valid JSON" in err.value.problems[0]
    assert fake.calls == 1  # no retry once text has been sent


async def test_closing_after_the_last_event_is_not_a_cancellation(
    gateway: Gateway, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    fake.script(reply("all of it"))
    stream = gateway.run_stream(call())
    iterator = aiter(stream)
    events = [await anext(iterator) for _ in range(4)]  # three words, then the final event
    assert events[-1].finish_reason == "stop"
    await stream.aclose()
    assert [t.status for t in recorder.traces] == ["ok"]
    assert gateway.stats.cancelled == 0
    assert fake.cancelled == 0
