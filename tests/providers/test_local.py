"""The local provider: SmolLM2 through llama-cpp-python, in process, loaded once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from promptyard.chat import ChatMessage
from promptyard.errors import BadRequest, ProviderTimeout, UnknownModel
from promptyard.providers import local
from promptyard.providers.base import CompletionRequest, Provider, ResponseFormat
from promptyard.providers.llama_model import LoadedModel, _StopMatcher
from promptyard.settings import load_settings
from promptyard.testing.provider_contract import ProviderContract, Scenario

pytestmark = pytest.mark.slow

MODEL = "smollm2-135m-instruct"


class TestLocalContract(ProviderContract):
    @pytest.fixture
    def provider(self, local_provider: local.LocalProvider) -> Provider:
        return local_provider

    @pytest.fixture
    def model(self) -> str:
        return MODEL

    def arrange(self, provider: Provider, scenario: Scenario, model: str) -> CompletionRequest | None:
        if scenario == "bad_request":  # longer than the model's context window
            return self.request(model, "word " * 6000)
        return None


def ask(text: str, **kwargs: Any) -> CompletionRequest:
    return CompletionRequest(model=MODEL, messages=[ChatMessage(role="user", content=text)], **kwargs)


def in_model_thread(provider: local.LocalProvider, fn: Any) -> Any:
    return provider.pool.executor.submit(provider.pool.run, fn).result()


async def wait_idle(provider: local.LocalProvider, deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while provider.pool.active:
        assert time.monotonic() < deadline, "the generation did not stop"
        await asyncio.sleep(0.01)


async def test_model_is_loaded_once_and_shared(local_provider: local.LocalProvider) -> None:
    again = local.create(load_settings())
    assert again.pool is local_provider.pool
    await again.complete(ask("Hi", max_tokens=2))
    assert local_provider.pool.loads == 1


async def test_matches_llama_cpp_own_chat_completion(local_provider: local.LocalProvider) -> None:
    """Oracle: greedy text and token counts equal llama-cpp-python's create_chat_completion."""
    messages = [
        ChatMessage(role="system", content="Answer briefly."),
        ChatMessage(role="user", content="Name three colours."),
    ]
    ours = await local_provider.complete(
        CompletionRequest(model=MODEL, messages=messages, max_tokens=12, temperature=0)
    )

    def reference(model: LoadedModel) -> Any:
        return model.llm.create_chat_completion(
            messages=[m.model_dump() for m in messages], max_tokens=12, temperature=0.0
        )

    theirs = in_model_thread(local_provider, reference)
    assert ours.usage.input_tokens == theirs["usage"]["prompt_tokens"]
    assert ours.usage.output_tokens == theirs["usage"]["completion_tokens"]
    assert ours.text == theirs["choices"][0]["message"]["content"]


async def test_json_schema_grammar_forces_valid_json(local_provider: local.LocalProvider) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string", "maxLength": 30}, "confidence": {"enum": ["low", "high"]}},
        "required": ["answer", "confidence"],
        "additionalProperties": False,
    }
    fmt = ResponseFormat(type="json_schema", json_schema=schema)
    request = ask("What is 2 + 2?", max_tokens=120, temperature=0.0, seed=7, response_format=fmt)
    response = await local_provider.complete(request)
    assert response.finish_reason == "stop", response.text
    import json

    import jsonschema

    jsonschema.validate(json.loads(response.text), schema)


async def test_unsupported_schema_is_a_bad_request(local_provider: local.LocalProvider) -> None:
    fmt = ResponseFormat(type="json_schema", json_schema={"type": "no-such-type"})
    with pytest.raises(BadRequest, match="grammar"):
        await local_provider.complete(ask("hi", response_format=fmt))


async def test_unknown_model_lists_the_local_ones(local_provider: local.LocalProvider) -> None:
    with pytest.raises(UnknownModel) as info:
        await local_provider.complete(
            CompletionRequest(model="gpt-4o", messages=[ChatMessage(role="user", content="x")])
        )
    assert MODEL in info.value.available


async def test_closing_a_stream_stops_generation(local_provider: local.LocalProvider) -> None:
    before = local_provider.stopped_early
    stream = local_provider.stream(ask("Write a long story about a dragon and a castle.", max_tokens=400))
    received = 0
    async for event in stream:
        received += bool(event.delta)
        if received == 3:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    await wait_idle(local_provider)
    assert local_provider.stopped_early == before + 1
    assert local_provider.last_stopped_tokens < 100


async def test_timeout_cancels_the_generation(local_provider: local.LocalProvider) -> None:
    before = local_provider.stopped_early
    with pytest.raises(ProviderTimeout):
        await local_provider.complete(ask("Write a long essay about the sea.", max_tokens=400, timeout_s=0.3))
    await wait_idle(local_provider)
    assert local_provider.stopped_early == before + 1


async def test_gateway_style_cancellation_stops_generation(local_provider: local.LocalProvider) -> None:
    before = local_provider.stopped_early
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await local_provider.complete(ask("Write a long essay about mountains.", max_tokens=400))
    await wait_idle(local_provider)
    assert local_provider.stopped_early == before + 1


async def test_concurrent_calls_share_one_context_and_keep_the_loop_free(local_provider: local.LocalProvider) -> None:
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    tick_task = asyncio.create_task(ticker())
    answers = await asyncio.gather(
        *(local_provider.complete(ask(f"Say the number {n}.", max_tokens=6)) for n in range(3))
    )
    stop.set()
    await tick_task
    assert all(a.usage.output_tokens > 0 for a in answers)
    assert local_provider.pool.peak_active == 1  # local_concurrency=1: one generation at a time
    assert ticks >= 5, "generation must run off the event loop"


async def test_stop_sequence_ends_the_answer(local_provider: local.LocalProvider) -> None:
    response = await local_provider.complete(
        ask("Count from 1 to 10, separated by commas.", max_tokens=40, temperature=0, stop=[","])
    )
    unstopped = await local_provider.complete(
        ask("Count from 1 to 10, separated by commas.", max_tokens=40, temperature=0)
    )
    assert "," in unstopped.text  # greedy decoding: the same prefix, which does contain the stop
    assert "," not in response.text
    assert response.finish_reason == "stop"
    assert unstopped.text.startswith(response.text)


def test_stop_matcher_holds_back_partial_stops() -> None:
    out: list[str] = []
    matcher = _StopMatcher(["END"], out.append)
    assert not matcher.feed("hello E")
    assert out == ["hello "]
    assert not matcher.feed("N")
    assert matcher.feed("D and more")
    assert "".join(out) == "hello "
    flushed: list[str] = []
    other = _StopMatcher(["END"], flushed.append)
    other.feed("tail E")
    other.flush("")
    assert "".join(flushed) == "tail E"


async def test_plain_prompt_format_skips_the_chat_template(local_provider: local.LocalProvider) -> None:
    """``local_prompt_format=plain`` (what a GGUF without a chat template gets): a separate pool whose
    prompt is the messages' contents and ``Answer:``, token for token."""
    from promptyard.providers.llama_model import plain_prompt

    plain = local.create(load_settings(local_prompt_format="plain"))
    assert plain.pool is not local_provider.pool
    assert plain.pool.path == local_provider.pool.path
    messages = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Name a colour."}]
    request = CompletionRequest(model=MODEL, messages=[ChatMessage(**m) for m in messages], max_tokens=1, temperature=0)
    ours = await plain.complete(request)
    chat = await local_provider.complete(request)
    expected = in_model_thread(plain, lambda model: len(model.tokenize(plain_prompt(messages))))
    assert ours.usage.input_tokens == expected
    assert chat.usage.input_tokens != expected  # the chat template adds role markers
    assert in_model_thread(plain, lambda model: model.format(messages)).endswith("Name a colour.\n\nAnswer:")
