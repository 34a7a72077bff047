"""The answer cache inside the pipeline: hits, misses, TTL, bypass, what is never stored."""

from __future__ import annotations

from collections.abc import Callable

from promptyard.chat import ChatMessage
from promptyard.gateway.base import CallContext, ChatCall, PromptCall
from promptyard.gateway.caches.base import CachedAnswer
from promptyard.gateway.pipeline import Gateway
from promptyard.providers.fake import FakeProvider, reply
from promptyard.testing.cache_contract import ManualClock
from promptyard.tracing.model import MemoryRecorder

from .conftest import Prompts, make_spec


def call(who: str = "Ada", **ctx: object) -> PromptCall:
    return PromptCall(name="greet", label="production", variables={"who": who}, context=CallContext(**ctx))  # type: ignore[arg-type]


async def test_second_identical_call_is_a_hit(gateway: Gateway, fake: FakeProvider, recorder: MemoryRecorder) -> None:
    fake.script(reply("Hello, Ada!"))
    first = await gateway.run(call())
    second = await gateway.run(call())
    assert fake.calls == 1
    assert second.text == "Hello, Ada!"
    assert second.cache_hit
    assert not first.cache_hit
    assert second.cost_usd == 0.0
    assert first.cost_usd > 0
    assert second.usage == first.usage  # the answer's usage, as originally reported
    hit_trace = recorder.traces[-1]
    assert hit_trace.answer_cache_hit
    assert hit_trace.cost_usd == 0.0
    assert hit_trace.cost_saved_usd == first.cost_usd
    assert hit_trace.input_tokens == 0
    assert hit_trace.output_tokens == 0
    assert gateway.stats.cache_hits == 1
    assert gateway.stats.cache_misses == 1


async def test_whitespace_and_case_variants_hit(gateway: Gateway, fake: FakeProvider) -> None:
    await gateway.run(call("Ada  Lovelace"))
    result = await gateway.run(call(" ada lovelace\n"))
    assert result.cache_hit
    assert fake.calls == 1


async def test_different_inputs_and_tenants_miss(gateway: Gateway, fake: FakeProvider) -> None:
    await gateway.run(call("Ada"))
    await gateway.run(call("Grace"))
    await gateway.run(call("Ada", tenant="other"))
    assert fake.calls == 3


async def test_new_prompt_version_misses(
    make_gateway: Callable[..., Gateway], prompts: Prompts, fake: FakeProvider
) -> None:
    gw = make_gateway()
    await gw.run(call())
    prompts.add(make_spec(version="1.1.0"), label="production")
    result = await gw.run(call())
    assert not result.cache_hit
    assert result.prompt == "greet@1.1.0"
    assert fake.calls == 2


async def test_corpus_version_is_part_of_the_key(gateway: Gateway, fake: FakeProvider) -> None:
    base = {"name": "greet", "label": "production", "variables": {"who": "Ada"}}
    await gateway.run(PromptCall(**base, corpus_version=1))  # type: ignore[arg-type]
    assert (await gateway.run(PromptCall(**base, corpus_version=1))).cache_hit  # type: ignore[arg-type]
    assert not (await gateway.run(PromptCall(**base, corpus_version=2))).cache_hit  # type: ignore[arg-type]
    assert fake.calls == 2


async def test_ttl_expiry_is_a_miss(gateway: Gateway, fake: FakeProvider, clock: ManualClock) -> None:
    await gateway.run(call())
    clock.advance(299)
    assert (await gateway.run(call())).cache_hit
    clock.advance(2)
    assert not (await gateway.run(call())).cache_hit
    assert fake.calls == 2


async def test_bypass_skips_lookup_and_store(gateway: Gateway, fake: FakeProvider) -> None:
    fake.script(reply("one"), reply("two"), reply("three"))
    await gateway.run(call())
    bypassed = await gateway.run(call(bypass_cache=True))
    assert bypassed.text == "two"
    assert not bypassed.cache_hit
    assert (await gateway.run(call())).text == "one"  # the bypassing call stored nothing
    assert fake.calls == 2


async def test_chat_calls_are_cached_too(gateway: Gateway, fake: FakeProvider) -> None:
    def chat(text: str) -> ChatCall:
        return ChatCall(model="fake/m1", messages=[ChatMessage(role="user", content=text)], temperature=0)

    await gateway.chat(chat("Hi there"))
    assert (await gateway.chat(chat("hi  THERE"))).cache_hit
    assert fake.calls == 1


async def test_a_broken_cache_backend_is_a_counted_miss(
    make_gateway: Callable[..., Gateway], fake: FakeProvider
) -> None:
    class Broken:
        name = "broken"

        async def get(self, key: str) -> CachedAnswer | None:
            raise ConnectionError("redis down")

        async def set(self, key: str, answer: CachedAnswer) -> None:
            raise ConnectionError("redis down")

        async def delete(self, key: str) -> None: ...

        async def clear(self) -> None: ...

        async def aclose(self) -> None: ...

    gw = make_gateway(cache=Broken())
    assert (await gw.run(call())).text.startswith("echo:")
    assert gw.stats.cache_errors == 2
    assert fake.calls == 1


async def test_no_cache_configured(make_gateway: Callable[..., Gateway], fake: FakeProvider) -> None:
    gw = make_gateway(cache=None)
    await gw.run(call())
    await gw.run(call())
    assert fake.calls == 2
