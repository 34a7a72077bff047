"""The interfaces against the real gateway pipeline, with the scripted FakeProvider registered
through ``plugins.register`` and a real uvicorn server on a loopback port.

The official ``openai`` SDK gets a normal completion and a stream; a client that disconnects
mid-stream cancels the provider call and still leaves a ``cancelled`` trace.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import openai
import pytest
from fastapi import FastAPI

from promptyard.runtime import Runtime
from promptyard.server.app import create_app
from promptyard.testing import FakeProvider, slow_stream, stream_error
from promptyard.tracing.model import MemoryRecorder
from tests.interfaces.conftest import LiveServer


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def recorder(runtime: Runtime) -> MemoryRecorder:
    rec = MemoryRecorder()
    runtime.__dict__["tracer"] = rec  # before the gateway is built: it takes the runtime's tracer
    return rec


@pytest.fixture
def real_live(
    runtime: Runtime, fake: FakeProvider, recorder: MemoryRecorder, registry_prompt: None
) -> Iterator[LiveServer]:
    app: FastAPI = create_app(runtime)
    server = LiveServer(app)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def sdk(real_live: LiveServer, app_key: str) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=real_live.url + "/v1", api_key=app_key, max_retries=0, timeout=30)
    try:
        yield client
    finally:
        client.close()


def test_openai_sdk_completion(sdk: openai.OpenAI, fake: FakeProvider, recorder: MemoryRecorder) -> None:
    reply = sdk.chat.completions.create(
        model="fake/bench-model",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello sdk"}],
        temperature=0.3,
        max_tokens=20,
        user="end-user-1",
    )
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == "echo: hello sdk"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens > 0
    assert reply.usage.completion_tokens > 0
    assert reply.usage.prompt_tokens_details is not None
    assert reply.usage.prompt_tokens_details.cached_tokens == 0
    request = fake.requests[-1]
    assert (request.model, request.temperature, request.max_tokens) == ("bench-model", 0.3, 20)
    assert wait_for(lambda: len(recorder.traces) == 1)
    assert recorder.traces[0].end_user == "end-user-1"
    assert recorder.traces[0].status == "ok"


def test_openai_sdk_stream(sdk: openai.OpenAI, fake: FakeProvider) -> None:
    stream = sdk.chat.completions.create(
        model="fake/bench-model",
        messages=[{"role": "user", "content": "stream these words please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: stream these words please"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 1  # really streamed
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0


def test_openai_sdk_prompt_model_with_variables(sdk: openai.OpenAI, fake: FakeProvider) -> None:
    reply = sdk.chat.completions.create(
        model="prompt:greet@production",
        messages=[],
        extra_body={"promptyard": {"variables": {"who": "Ada"}}},
    )
    assert reply.choices[0].message.content == "echo: Say hello to Ada."
    stream = sdk.chat.completions.create(
        model="prompt:greet@1.0.0",
        messages=[],
        stream=True,
        extra_body={"promptyard": {"variables": {"who": "Grace"}, "bypass_cache": True}},
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "echo: Say hello to Grace."


def test_openai_sdk_errors(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as unknown:
        sdk.chat.completions.create(model="nope/x", messages=[{"role": "user", "content": "hi"}])
    assert unknown.value.status_code == 400
    assert "fake" in str(unknown.value)
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(model="prompt:missing@production", messages=[])
    with pytest.raises(openai.UnprocessableEntityError) as bad_vars:
        sdk.chat.completions.create(model="prompt:greet@production", messages=[])
    assert "who" in str(bad_vars.value)
    models = [m.id for m in sdk.models.list()]
    assert "fake/*" in models
    assert "prompt:greet@production" in models


async def test_async_openai_sdk_stream(real_live: LiveServer, app_key: str) -> None:
    async with openai.AsyncOpenAI(base_url=real_live.url + "/v1", api_key=app_key, max_retries=0) as client:
        stream = await client.chat.completions.create(
            model="fake/m", messages=[{"role": "user", "content": "async words"}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "echo: async words"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"model": "fake/m", "messages": [{"role": "user", "content": "x"}], "stream": True}),
        ("/v1/prompts/greet/run", {"label": "production", "variables": {"who": "Ada"}, "stream": True}),
    ],
)
def test_disconnect_cancels_provider_and_writes_cancelled_trace(
    real_live: LiveServer,
    app_key: str,
    fake: FakeProvider,
    recorder: MemoryRecorder,
    path: str,
    body: dict[str, object],
) -> None:
    fake.script(slow_stream(" ".join(f"w{i}" for i in range(200)), chunks=200, chunk_delay_s=0.05))  # ~10 s
    headers = {"Authorization": f"Bearer {app_key}"}
    with (
        httpx.Client(base_url=real_live.url, headers=headers, timeout=10) as http,
        http.stream("POST", path, json=body) as resp,
    ):
        assert resp.status_code == 200
        lines = resp.iter_lines()
        assert any("w0" in next(lines) for _ in range(4))
    started = time.monotonic()
    assert wait_for(lambda: fake.cancelled == 1), "the provider stream was not cancelled"
    assert wait_for(lambda: len(recorder.traces) == 1), "no trace was written"
    assert time.monotonic() - started < 5  # cancelled at once, not after the ~10 s stream
    trace = recorder.traces[0]
    assert trace.status == "cancelled"
    assert trace.stream is True


def test_mid_stream_provider_error_reaches_the_sdk(
    sdk: openai.OpenAI, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    fake.script(stream_error(after=2, text="partial answer here"))
    stream = sdk.chat.completions.create(
        model="fake/m",
        messages=[{"role": "user", "content": "x"}],
        stream=True,
        extra_body={"promptyard": {"bypass_cache": True}},
    )
    received: list[str] = []

    def consume() -> None:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)

    with pytest.raises(openai.APIError) as info:
        consume()
    assert "".join(received) == "partial answer "  # what was sent before the error stays sent
    assert "overloaded" in str(info.value).lower() or "unavailable" in str(info.value).lower()
    assert wait_for(lambda: len(recorder.traces) == 1)
    assert recorder.traces[0].status == "error"
