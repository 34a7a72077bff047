"""Two gateway instances (two runtimes, one process) sharing one database and one Redis:
identical concurrent requests make one provider call, and label moves reach the other instance
within a second although its label cache TTL is 30 s."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from promptyard.gateway.base import PromptCall
from promptyard.gateway.shared_flight import SharedFlight
from promptyard.providers.fake import FakeProvider, echo
from promptyard.runtime import Runtime
from promptyard.settings import Settings

PROMPT = """---
name: hello
version: {version}
model:
  provider: fake
  model: m1
variables:
  who: {{type: string}}
---
[system]
You are friendly ({version}).

[user]
Say hello to {{{{ who }}}}.
"""


@pytest.fixture
async def pair(tmp_path: Path, redis_url: str, fake: FakeProvider) -> AsyncIterator[tuple[Runtime, Runtime]]:
    prompts = tmp_path / "prompts"
    for version in ("1.0.0", "1.1.0"):
        (prompts / "hello").mkdir(parents=True, exist_ok=True)
        (prompts / "hello" / f"{version}.prompt").write_text(PROMPT.format(version=version))
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'shared.db'}",
        cache_backend="redis",
        redis_url=redis_url,
        redis_prefix=os.environ["PROMPTYARD_TEST_REDIS_PREFIX"],
        label_cache_ttl_s=30.0,
        tracing=False,
    )
    runtimes = (Runtime(settings), Runtime(settings))
    runtimes[0].registry.sync(prompts, actor="ops")
    runtimes[0].registry.set_label("hello", "production", "1.0.0", actor="ops")
    try:
        yield runtimes
    finally:
        for rt in runtimes:
            await rt.aclose()


@pytest.mark.redis
async def test_identical_requests_on_two_instances_make_one_provider_call(
    pair: tuple[Runtime, Runtime], fake: FakeProvider
) -> None:
    fake.default = echo(delay_s=0.3)
    gateways = [rt.gateway for rt in pair]
    assert all(isinstance(gw.flight, SharedFlight) for gw in gateways)
    call = PromptCall(name="hello", label="production", variables={"who": "Ada"})
    results = await asyncio.gather(*(gateways[i % 2].run(call) for i in range(10)))
    assert fake.calls == 1
    assert len({r.text for r in results}) == 1
    assert sum(gw.stats.coalesced for gw in gateways) == 9
    assert sum(gw.stats.coalesced_remote for gw in gateways) == 1  # the other instance's local leader


@pytest.mark.redis
async def test_a_failed_leader_lets_the_other_instance_call(pair: tuple[Runtime, Runtime], fake: FakeProvider) -> None:
    from promptyard.errors import BadRequest
    from promptyard.testing import bad_request

    fake.script(bad_request())  # the leader's call fails (not retried, nothing cached)
    fake.default = echo(delay_s=0.05)
    call = PromptCall(name="hello", label="production", variables={"who": "Bob"})
    outcomes = await asyncio.gather(*(pair[i].gateway.run(call) for i in range(2)), return_exceptions=True)
    assert sum(isinstance(o, BadRequest) for o in outcomes) == 1
    assert fake.calls == 2  # the waiting instance took the lease and called itself


@pytest.mark.redis
def test_label_moves_reach_the_other_instance_within_a_second(pair: tuple[Runtime, Runtime]) -> None:
    first, second = (rt.registry for rt in pair)
    assert second.resolve("hello", label="production").version == "1.0.0"  # cached there for 30 s
    first.set_label("hello", "production", "1.1.0", actor="ops")
    moved = time.monotonic()
    while second.resolve("hello", label="production").version != "1.1.0":
        assert time.monotonic() - moved < 1.0, "the move did not reach the other instance within 1 s"
        time.sleep(0.01)
    assert time.monotonic() - moved < 1.0
