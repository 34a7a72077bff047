"""The small pieces the pipeline is built from: backoff, output checks, record construction."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from promptyard.errors import BadRequest, ConfigError, ProviderTimeout, ProviderUnavailable, RateLimited
from promptyard.gateway.base import GatewayResult
from promptyard.gateway.fastmodel import Constructor
from promptyard.gateway.retry import RetryPolicy, with_retries
from promptyard.gateway.validate import OutputCheck
from promptyard.providers.base import CompletionRequest, Usage
from promptyard.tracing.model import Trace


def test_full_jitter_backoff_is_bounded_and_capped() -> None:
    policy = RetryPolicy(max_retries=10, base_s=0.25, max_s=2.0)
    err = ProviderUnavailable("down")
    assert [policy.delay(n, err, lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert policy.delay(3, err, lambda: 0.0) == 0.0
    assert policy.delay(3, err, lambda: 0.5) == 0.5


def test_retry_after_is_honoured_exactly_unless_over_the_cap() -> None:
    policy = RetryPolicy(max_retries=2, base_s=0.25, max_s=8.0)
    assert policy.delay(1, RateLimited("429", retry_after=3.5), lambda: 0.0) == 3.5
    assert policy.delay(1, RateLimited("429", retry_after=9.0), lambda: 0.0) is None
    assert policy.delay(3, RateLimited("429", retry_after=1.0), lambda: 0.0) is None  # out of retries


def test_only_retryable_errors_are_retried() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.delay(1, BadRequest("400"), lambda: 0.0) is None
    assert policy.delay(1, ValueError("bug"), lambda: 0.0) is None
    assert policy.delay(1, ProviderTimeout("slow"), lambda: 0.0) is not None


async def test_with_retries_counts_and_stops() -> None:
    attempts = 0
    seen: list[tuple[int, float]] = []

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ProviderUnavailable("down")
        return "ok"

    async def no_sleep(_s: float) -> None:
        return None

    policy = RetryPolicy(max_retries=2, base_s=1.0, max_s=8.0)
    result = await with_retries(
        flaky, policy, sleep=no_sleep, rand=lambda: 1.0, on_retry=lambda n, _e, d: seen.append((n, d))
    )
    assert result == "ok"
    assert seen == [(1, 1.0), (2, 2.0)]
    attempts = -10
    with pytest.raises(ProviderUnavailable):
        await with_retries(flaky, policy, sleep=no_sleep)


def test_output_check_json_in_a_code_fence_and_schema_paths() -> None:
    check = OutputCheck(
        json_output=True,
        json_schema={"type": "object", "properties": {"items": {"type": "array", "items": {"type": "integer"}}}},
    )
    ok = check.check('```json\n{"items": [1, 2]}\n```')
    assert ok.ok
    assert ok.parsed == {"items": [1, 2]}
    bad = check.check('{"items": [1, "two"]}')
    assert bad.problems == ["$.items[1]: 'two' is not of type 'integer'"]


def test_output_check_refuses_an_invalid_schema() -> None:
    with pytest.raises(ConfigError, match="invalid output JSON Schema"):
        OutputCheck(json_schema={"type": "no-such-type"})


def test_length_uses_the_providers_token_count_when_given() -> None:
    check = OutputCheck(max_tokens=3)
    assert check.check("one two three four", output_tokens=3).ok
    assert not check.check("one two three four five six seven eight nine ten eleven twelve thirteen").ok


class _Sample(BaseModel):
    name: str
    tags: list[str] = Field(default_factory=list)
    size: int = 3


def test_constructor_matches_validation_and_gives_fresh_containers() -> None:
    build = Constructor(_Sample)
    a, b = build(name="x"), build(name="y")
    assert a == _Sample(name="x")
    assert a.model_fields_set == {"name"}
    a.tags.append("t")
    assert b.tags == []
    trace_values = {"trace_id": "t1", "provider": "openai", "input_tokens": 3, "flags": ["coalesced"]}
    assert Constructor(Trace)(**trace_values).model_dump(exclude={"timestamp"}) == Trace(**trace_values).model_dump(
        exclude={"timestamp"}
    )
    result = Constructor(GatewayResult)(text="hi", provider="p", model="m", trace_id="t", usage=Usage(output_tokens=1))
    assert (
        result.model_dump()
        == GatewayResult(text="hi", provider="p", model="m", trace_id="t", usage=Usage(output_tokens=1)).model_dump()
    )
    request = Constructor(CompletionRequest)(model="m", messages=[])
    assert request == CompletionRequest(model="m", messages=[])


def test_constructor_refuses_models_it_cannot_build() -> None:
    class Aliased(BaseModel):
        value: int = Field(default=0, alias="v")

    with pytest.raises(TypeError, match="alias"):
        Constructor(Aliased)
