"""Token buckets per API key and per end user: in process, and atomic in a shared Redis."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import pytest

from promptyard.errors import RateLimitExceeded
from promptyard.gateway.base import CallContext, PromptCall
from promptyard.gateway.pipeline import Gateway
from promptyard.gateway.ratelimit.base import Bucket, Charge
from promptyard.gateway.ratelimit.memory import MemoryRateLimiter
from promptyard.gateway.ratelimit.policy import LimitPolicy
from promptyard.gateway.ratelimit.redis import RedisRateLimiter
from promptyard.providers.fake import FakeProvider
from promptyard.tracing.model import MemoryRecorder


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def per_minute(key: str, n: int) -> Bucket:
    return Bucket(key=key, capacity=float(n), per_s=n / 60.0, description=f"{n} per minute for {key}")


async def test_memory_bucket_refuses_with_retry_after_then_refills() -> None:
    clock = Monotonic()
    limiter = MemoryRateLimiter(clock=clock)
    rpm: list[Charge] = [(per_minute("k:rpm", 2), 1)]
    await limiter.acquire(rpm)
    await limiter.acquire(rpm)
    with pytest.raises(RateLimitExceeded) as err:
        await limiter.acquire(rpm)
    assert err.value.retry_after == pytest.approx(30.0)  # one request refills in 60/2 s
    assert "2 per minute for k:rpm" in str(err.value)
    clock.now += 30.0
    await limiter.acquire(rpm)


async def test_all_or_nothing_across_buckets() -> None:
    limiter = MemoryRateLimiter(clock=Monotonic())
    requests, tokens = per_minute("rpm", 10), per_minute("tpm", 100)
    await limiter.acquire([(requests, 1), (tokens, 90)])
    with pytest.raises(RateLimitExceeded, match="tpm"):
        await limiter.acquire([(requests, 1), (tokens, 20)])
    # the refused call took nothing from the request bucket: 9 requests are left
    for _ in range(9):
        await limiter.acquire([(requests, 1)])
    with pytest.raises(RateLimitExceeded):
        await limiter.acquire([(requests, 1)])


async def test_debit_corrects_the_token_estimate() -> None:
    clock = Monotonic()
    limiter = MemoryRateLimiter(clock=clock)
    tpm = per_minute("tpm", 100)
    await limiter.acquire([(tpm, 10)])
    await limiter.debit([(tpm, 80)])  # the call really used 90 tokens
    with pytest.raises(RateLimitExceeded) as err:
        await limiter.acquire([(tpm, 20)])
    assert err.value.retry_after == pytest.approx(6.0)  # 10 tokens missing at 100/60 per second


async def test_a_request_larger_than_the_bucket_waits_for_a_full_bucket() -> None:
    clock = Monotonic()
    limiter = MemoryRateLimiter(clock=clock)
    tpm = per_minute("tpm", 100)
    await limiter.acquire([(tpm, 500)])  # a full bucket admits it, into the negative
    with pytest.raises(RateLimitExceeded):
        await limiter.acquire([(tpm, 1)])


def test_policy_builds_buckets_only_for_configured_limits() -> None:
    policy = LimitPolicy(key_rpm=60, user_tpm=1000)
    charges, token_buckets = policy.charges(CallContext(api_key_id="k1", end_user="u1"), est_tokens=42)
    assert [(b.key, units) for b, units in charges] == [("key:k1:rpm", 1), ("user:u1:tpm", 42)]
    assert [b.key for b in token_buckets] == ["user:u1:tpm"]
    assert policy.charges(CallContext(), est_tokens=5) == ([], [])
    assert not LimitPolicy().active


async def test_gateway_refuses_over_the_limit_with_429_data(
    make_gateway: Callable[..., Gateway], fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    gw = make_gateway(limits=LimitPolicy(user_rpm=2), cache=None)
    ctx = CallContext(end_user="alice")
    for _ in range(2):
        await gw.run(PromptCall(name="greet", label="production", variables={"who": "x"}, context=ctx))
    with pytest.raises(RateLimitExceeded) as err:
        await gw.run(PromptCall(name="greet", label="production", variables={"who": "x"}, context=ctx))
    assert err.value.retry_after > 0
    assert "end user alice" in str(err.value)
    assert fake.calls == 2
    assert gw.stats.rate_limited == 1
    assert recorder.traces[-1].error_type == "rate_limited"
    # another user has their own bucket
    await gw.run(
        PromptCall(name="greet", label="production", variables={"who": "x"}, context=CallContext(end_user="bob"))
    )


async def test_gateway_charges_actual_tokens_after_the_call(
    make_gateway: Callable[..., Gateway], fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    gw = make_gateway(limits=LimitPolicy(key_tpm=36), cache=None)
    ctx = CallContext(api_key_id="k1")
    run = PromptCall(name="greet", label="production", variables={"who": "x"}, context=ctx)
    await gw.run(run)
    await gw.run(run)
    # the estimate is 12 tokens a call (44 prompt characters / 4 + 1), the actual 14 (fake word count)
    trace = recorder.traces[-1]
    assert trace.prompt_chars // 4 + 1 == 12
    assert trace.input_tokens + trace.output_tokens == 14
    # estimates alone would leave 36 - 24 = 12 tokens, enough for a third call; actual usage leaves 8
    with pytest.raises(RateLimitExceeded, match="tokens per minute for API key k1"):
        await gw.run(run)


@pytest.mark.redis
async def test_redis_limiter_is_atomic_across_two_instances(redis_url: str) -> None:
    prefix = os.environ["PROMPTYARD_TEST_REDIS_PREFIX"]
    a = RedisRateLimiter(redis_url, prefix=prefix)
    b = RedisRateLimiter(redis_url, prefix=prefix)
    rpm: list[Charge] = [(per_minute("key:shared:rpm", 10), 1)]

    async def try_acquire(limiter: RedisRateLimiter) -> bool:
        try:
            await limiter.acquire(rpm)
        except RateLimitExceeded:
            return True
        return False

    refused = await asyncio.gather(*(try_acquire(a if i % 2 else b) for i in range(60)))
    assert refused.count(False) == 10  # exactly the limit, whichever instance asked
    with pytest.raises(RateLimitExceeded) as err:
        await a.acquire(rpm)
    assert 0 < err.value.retry_after <= 6.0
    await a.aclose()
    await b.aclose()


@pytest.mark.redis
async def test_redis_limiter_all_or_nothing_and_debit(redis_url: str) -> None:
    limiter = RedisRateLimiter(redis_url, prefix=os.environ["PROMPTYARD_TEST_REDIS_PREFIX"])
    requests, tokens = per_minute("rpm", 5), per_minute("tpm", 100)
    await limiter.acquire([(requests, 1), (tokens, 50)])
    await limiter.debit([(tokens, 45)])  # 95 used in all
    with pytest.raises(RateLimitExceeded, match="tpm") as err:
        await limiter.acquire([(requests, 1), (tokens, 10)])
    assert err.value.retry_after == pytest.approx(3.0, abs=0.2)  # ~5 tokens short at 100/60 per s
    for _ in range(4):  # the refused call took no request
        await limiter.acquire([(requests, 1)])
    with pytest.raises(RateLimitExceeded, match="rpm"):
        await limiter.acquire([(requests, 1)])
    await limiter.aclose()
