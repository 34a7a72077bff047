"""Busy polling (server/busy_poll.py): the loop keeps running for a window after each request."""

from __future__ import annotations

import asyncio
import time

import httpx

from promptyard.server.busy_poll import BusyPoll
from promptyard.server.hot import App
from tests.interfaces.test_hot_routes import CHAT


async def test_a_touch_keeps_the_loop_polling_for_the_window_then_stops() -> None:
    poll = BusyPoll(20_000)  # 20 ms
    started = time.perf_counter()
    poll.touch()
    assert poll.polling
    await asyncio.sleep(0.005)
    assert poll.polling
    assert poll.spins > 0  # the spinner ran while this coroutine slept
    poll.touch()  # renewed: 20 ms from now
    await poll.settled()
    assert not poll.polling
    assert time.perf_counter() - started >= 0.025
    spins = poll.spins
    await asyncio.sleep(0.005)
    assert poll.spins == spins  # stopped: nothing runs once the window is over


async def test_off_by_default_no_task_no_spins() -> None:
    poll = BusyPoll(0)
    poll.touch()
    assert not poll.polling
    assert poll.spins == 0


async def test_every_http_request_renews_the_window(app: App, app_key: str) -> None:
    assert app.busy_poll.window == 300e-6  # PROMPTYARD_SERVER_BUSY_POLL_US defaults to 300
    app.busy_poll = BusyPoll(50_000)
    transport = httpx.ASGITransport(app=app)
    headers = {"authorization": f"Bearer {app_key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as c:
        hot = await c.post("/v1/chat/completions", json=CHAT)
        assert app.busy_poll.polling
        other = await c.get("/healthz")
    assert hot.status_code == 200
    assert other.status_code == 200
    assert app.busy_poll.spins > 0
