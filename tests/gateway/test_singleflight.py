"""Identical concurrent requests coalesce into one provider call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from promptyard.errors import BadRequest
from promptyard.gateway.base import PromptCall
from promptyard.gateway.pipeline import Gateway
from promptyard.gateway.singleflight import SingleFlight
from promptyard.providers.fake import FakeProvider, bad_request, reply
from promptyard.tracing.model import MemoryRecorder


def call(who: str = "Ada") -> PromptCall:
    return PromptCall(name="greet", label="production", variables={"who": who})


async def wait_until(predicate: Callable[[], bool]) -> None:
    """Poll with a deadline (never a fixed sleep)."""
    async with asyncio.timeout(5.0):
        while not predicate():  # noqa: ASYNC110 - the fake offers no event to wait on; polled with a deadline
            await asyncio.sleep(0)


async def test_twenty_concurrent_identical_requests_make_one_provider_call(
    gateway: Gateway, fake: FakeProvider, recorder: MemoryRecorder
) -> None:
    gate = asyncio.Event()
    fake.script(reply("shared answer", gate=gate))
    tasks = [asyncio.create_task(gateway.run(call())) for _ in range(20)]
    await wait_until(lambda: fake.calls == 1 and len(gateway.flight) == 1)
    await asyncio.sleep(0)  # let every task reach the single-flight wait
    gate.set()
    results = await asyncio.gather(*tasks)
    assert fake.calls == 1
    assert {r.text for r in results} == {"shared answer"}
    assert sum(r.cost_usd > 0 for r in results) == 1  # only the leader paid
    assert gateway.stats.coalesced == 19
    assert len(recorder.traces) == 20
    assert sum("coalesced" in t.flags for t in recorder.traces) == 19
    assert len({r.trace_id for r in results}) == 20


async def test_different_requests_are_not_coalesced(gateway: Gateway, fake: FakeProvider) -> None:
    await asyncio.gather(*(gateway.run(call(f"user {i}")) for i in range(5)))
    assert fake.calls == 5


async def test_an_error_is_shared_not_repeated(gateway: Gateway, fake: FakeProvider) -> None:
    gate = asyncio.Event()
    step = bad_request("refused")
    step.gate = gate  # hold the answer until every request is waiting
    fake.script(step)  # nothing else scripted: a second provider call would echo
    tasks = [asyncio.create_task(gateway.run(call())) for _ in range(5)]
    await wait_until(lambda: fake.calls == 1)
    await asyncio.sleep(0)
    gate.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(o, BadRequest) for o in outcomes)
    assert fake.calls == 1


async def test_a_cancelled_leader_hands_over_to_a_follower() -> None:
    flight: SingleFlight[str] = SingleFlight()
    started = asyncio.Event()
    calls = 0

    async def work() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            started.set()
            await asyncio.Event().wait()  # the leader hangs until cancelled
        return "done"

    leader = asyncio.create_task(flight.do("k", work))
    await started.wait()
    follower = asyncio.create_task(flight.do("k", work))
    await asyncio.sleep(0)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert await follower == ("done", False)  # it became the new leader
    assert calls == 2
    assert len(flight) == 0


async def test_a_cancelled_follower_does_not_disturb_the_leader() -> None:
    flight: SingleFlight[str] = SingleFlight()
    release = asyncio.Event()

    async def work() -> str:
        await release.wait()
        return "ok"

    leader = asyncio.create_task(flight.do("k", work))
    await asyncio.sleep(0)
    follower = asyncio.create_task(flight.do("k", work))
    await asyncio.sleep(0)
    follower.cancel()
    release.set()
    assert await leader == ("ok", False)
    with pytest.raises(asyncio.CancelledError):
        await follower
