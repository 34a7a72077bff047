"""Defined failure behaviour (issue 3, item 7): one test per failure, simulated with the
scripted FakeProvider through the real provider registry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from promptyard.errors import OutputValidationError, ProviderTimeout, ProviderUnavailable, RateLimited
from promptyard.gateway.base import PromptCall
from promptyard.gateway.pipeline import Gateway
from promptyard.prompts.model import Fallback, ModelConfig, OutputRules
from promptyard.providers.fake import FakeProvider, hang, json_reply, malformed_json, rate_limited, reply, unavailable
from promptyard.settings import Settings
from promptyard.testing.cache_contract import ManualClock
from promptyard.tracing.model import MemoryRecorder

from .conftest import Prompts, Sleeps, make_spec


def call(name: str = "greet", who: str = "Ada", **kw: object) -> PromptCall:
    return PromptCall(name=name, label="production", variables={"who": who}, **kw)  # type: ignore[arg-type]


def with_fallbacks(prompts: Prompts, *fallbacks: Fallback, allow_degraded: bool = False, **model: object) -> None:
    cfg = ModelConfig(
        provider="fake", model="primary", fallbacks=list(fallbacks), allow_degraded=allow_degraded, **model
    )  # type: ignore[arg-type]
    prompts.add(make_spec("fb", model=cfg), label="production")


# ---- provider rate-limited ---------------------------------------------------------------
async def test_rate_limited_retries_honour_retry_after(gateway: Gateway, fake: FakeProvider, sleeps: Sleeps) -> None:
    fake.script(rate_limited(retry_after=3.0), rate_limited(retry_after=None), reply("finally"))
    result = await gateway.run(call())
    assert result.text == "finally"
    assert result.retries == 2
    # Retry-After waited out exactly; then full jitter: rand()=0.5 * min(8, 0.1 * 2**1)
    assert sleeps.delays == [3.0, pytest.approx(0.1)]


async def test_rate_limited_goes_to_the_fallback_provider(
    make_gateway: Callable[..., Gateway], prompts: Prompts, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    with_fallbacks(prompts, Fallback(model="fake/backup", on=["rate_limited"]))
    fake.script(*[rate_limited(retry_after=None)] * 3, model="primary")
    fake.script(reply("from backup"), model="backup")
    result = await make_gateway().run(call("fb"))
    assert result.text == "from backup"
    assert result.fallback_used == "fake/backup"
    assert not result.degraded
    assert fake.calls_by_model == {"primary": 3, "backup": 1}  # 1 call + 2 retries, then the fallback
    trace = recorder.traces[-1]
    assert trace.fallback_used == "fake/backup"
    assert trace.retries == 2
    assert trace.model == "backup"
    assert "fallback:fake/backup:provider_rate_limited" in trace.flags


async def test_retry_after_longer_than_the_cap_skips_retries(
    make_gateway: Callable[..., Gateway], prompts: Prompts, fake: FakeProvider, sleeps: Sleeps
) -> None:
    with_fallbacks(prompts, Fallback(model="fake/backup", on=["rate_limited"]))
    fake.script(rate_limited(retry_after=60.0), model="primary")  # retry_max_s is 8
    fake.script(reply("backup now"), model="backup")
    result = await make_gateway().run(call("fb"))
    assert result.text == "backup now"
    assert result.retries == 0
    assert fake.calls_by_model["primary"] == 1
    assert sleeps.delays == []


async def test_rate_limited_serves_a_stale_cached_answer(
    gateway: Gateway, fake: FakeProvider, clock: ManualClock, recorder: MemoryRecorder
) -> None:
    fake.script(reply("cached answer"))
    first = await gateway.run(call())
    clock.advance(301)  # past the 300 s TTL, within the stale window
    fake.script(*[rate_limited(retry_after=2.0)] * 3)
    result = await gateway.run(call())
    assert result.text == "cached answer"
    assert result.stale
    assert result.cache_hit
    assert result.cost_usd == 0.0
    assert fake.calls == 4
    trace = recorder.traces[-1]
    assert trace.status == "ok"
    assert "stale_cache" in trace.flags
    assert trace.answer_cache_hit
    assert trace.cost_saved_usd == first.cost_usd
    assert gateway.stats.cache_stale_served == 1


async def test_rate_limited_without_fallback_or_cache_is_a_rate_limited_error(
    gateway: Gateway, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    fake.script(*[rate_limited(retry_after=2.0)] * 3)
    with pytest.raises(RateLimited) as err:
        await gateway.run(call())
    assert err.value.retry_after == 2.0
    assert recorder.traces[-1].error_type == "provider_rate_limited"


# ---- provider down ------------------------------------------------------------------------------
async def test_provider_down_is_503_and_logged_never_a_silent_degraded_switch(
    make_gateway: Callable[..., Gateway],
    prompts: Prompts,
    fake: FakeProvider,
    recorder: MemoryRecorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with_fallbacks(prompts, Fallback(model="fake/tiny", on=["unavailable"], degraded=True))
    fake.script(*[unavailable(503)] * 3, model="primary")
    gw = make_gateway()
    with caplog.at_level(logging.WARNING, logger="promptyard.gateway"), pytest.raises(ProviderUnavailable) as err:
        await gw.run(call("fb"))
    assert err.value.message == "service unavailable, try again"
    assert "allow_degraded" in str(err.value)
    assert fake.calls_by_model == {"primary": 3}  # the lesser model was never called
    assert gw.stats.outages == 1
    assert any("provider outage: fake/primary unavailable" in r.getMessage() for r in caplog.records)
    assert recorder.traces[-1].error_type == "provider_unavailable"


async def test_provider_down_uses_a_degraded_fallback_only_when_allowed_and_says_so(
    make_gateway: Callable[..., Gateway], prompts: Prompts, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    with_fallbacks(prompts, Fallback(model="fake/tiny", on=["unavailable"], degraded=True), allow_degraded=True)
    fake.script(*[unavailable(529)] * 3, model="primary")
    fake.script(reply("small answer"), reply("small answer"), model="tiny")
    gw = make_gateway()
    result = await gw.run(call("fb"))
    assert result.text == "small answer"
    assert result.degraded
    assert result.fallback_used == "fake/tiny"
    assert recorder.traces[-1].degraded
    # a degraded answer is not cached under the primary's key
    fake.script(*[unavailable(529)] * 3, model="primary")
    again = await gw.run(call("fb"))
    assert again.degraded
    assert not again.cache_hit


# ---- generation timeout --------------------------------------------------------------------------
async def test_generation_timeout_cancels_the_provider_call(
    make_gateway: Callable[..., Gateway], fake: FakeProvider, recorder: MemoryRecorder, tmp_path: object
) -> None:
    gw = make_gateway(settings=Settings(home=tmp_path, request_timeout_s=0.05, max_retries=0))
    fake.script(hang())
    with pytest.raises(ProviderTimeout, match=r"did not answer within 0.05 s; the call was cancelled"):
        await gw.run(call())
    assert fake.cancelled == 1  # the hanging provider task saw the cancellation
    assert recorder.traces[-1].error_type == "provider_timeout"


async def test_per_prompt_timeout_overrides_the_default(
    make_gateway: Callable[..., Gateway], prompts: Prompts, fake: FakeProvider
) -> None:
    prompts.add(make_spec("quick", model=ModelConfig(provider="fake", model="m1", timeout_s=0.05)), label="production")
    fake.script(hang(), hang(), hang())
    gw = make_gateway()  # default timeout 15 s, 2 retries
    with pytest.raises(ProviderTimeout):
        await asyncio.wait_for(gw.run(call("quick")), timeout=5)
    assert fake.cancelled == 3
    assert gw.stats.timeouts == 3


async def test_timeout_falls_back_when_configured(
    make_gateway: Callable[..., Gateway], prompts: Prompts, fake: FakeProvider, tmp_path: object
) -> None:
    with_fallbacks(prompts, Fallback(model="fake/backup", on=["timeout"]), timeout_s=0.05)
    fake.script(hang(), hang(), hang(), model="primary")
    fake.script(reply("in time"), model="backup")
    result = await make_gateway().run(call("fb"))
    assert result.text == "in time"
    assert fake.cancelled == 3


# ---- malformed output -------------------------------------------------------------------------
SCHEMA = {
    "type": "object",
    "properties": {"greeting": {"type": "string"}, "polite": {"type": "boolean"}},
    "required": ["greeting", "polite"],
    "additionalProperties": False,
}


def json_prompt(prompts: Prompts) -> None:
    prompts.add(
        make_spec(
            "structured",
            model=ModelConfig(provider="fake", model="m1", response_format="json"),
            output=OutputRules(json_schema=SCHEMA),
        ),
        label="production",
    )


async def test_malformed_output_is_fed_back_and_fixed(
    make_gateway: Callable[..., Gateway], prompts: Prompts, fake: FakeProvider
) -> None:
    json_prompt(prompts)
    fake.script(json_reply({"greeting": "hi"}), json_reply({"greeting": "hi", "polite": True}))
    result = await make_gateway().run(call("structured"))
    assert result.parsed == {"greeting": "hi", "polite": True}
    assert fake.calls == 2
    first, second = fake.requests
    assert first.response_format is not None
    assert first.response_format.json_schema == SCHEMA
    assert second.messages[-2].role == "assistant"
    assert second.messages[-2].content == '{"greeting": "hi"}'
    assert "'polite' is a required property" in second.messages[-1].content  # the error text went back


async def test_malformed_output_after_the_retries_is_an_output_validation_error(
    make_gateway: Callable[..., Gateway], prompts: Prompts, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    json_prompt(prompts)
    fake.script(malformed_json(), malformed_json('{"greeting": 1, "polite": "yes"}'))
    gw = make_gateway()
    with pytest.raises(OutputValidationError) as err:
        await gw.run(call("structured"))
    assert fake.calls == 2  # output_retries = 1
    assert "not valid JSON" in fake.requests[1].messages[-1].content
    assert err.value.problems == ["$.greeting: 1 is not of type 'string'", "$.polite: 'yes' is not of type 'boolean'"]
    trace = recorder.traces[-1]
    assert trace.error_type == "output_invalid"
    assert trace.cost_usd > 0
    # invalid outputs are never cached
    fake.script(json_reply({"greeting": "ok", "polite": False}))
    assert not (await gw.run(call("structured"))).cache_hit


async def test_required_sections_and_length_are_checked(
    make_gateway: Callable[..., Gateway], prompts: Prompts, fake: FakeProvider
) -> None:
    prompts.add(
        make_spec("report", output=OutputRules(required_sections=["## Summary"], min_tokens=3)), label="production"
    )
    fake.script(reply("too short"), reply("## Summary all good here"))
    result = await make_gateway().run(call("report"))
    assert result.text == "## Summary all good here"
    feedback = fake.requests[1].messages[-1].content
    assert "missing required section '## Summary'" in feedback
    assert "too short: 2 tokens" in feedback


async def test_a_fallback_whose_provider_is_not_configured_is_skipped(
    make_gateway: Callable[..., Gateway], prompts: Prompts, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    with_fallbacks(
        prompts,
        Fallback(model="anthropic-not-configured/claude", on=["unavailable"]),
        Fallback(model="fake/backup", on=["unavailable"]),
    )
    fake.script(*[unavailable(503)] * 3, model="primary")
    fake.script(reply("backup answer"), model="backup")
    result = await make_gateway().run(call("fb"))
    assert result.text == "backup answer"
    assert result.fallback_used == "fake/backup"
