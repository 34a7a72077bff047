"""Redis and Postgres failing under a running instance: requests degrade as documented (or fail with
503 naming what is down), the failures show in /metrics and /readyz, and the instance recovers by
itself when the service is back. Private servers only: the machine's Redis and Postgres stay up."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from promptyard.providers.fake import FakeProvider
from promptyard.runtime import Runtime
from promptyard.server.app import create_app
from promptyard.settings import load_settings
from promptyard.testing.services import PrivatePostgres, PrivateRedis
from tests.interfaces.conftest import GREET

BODY = {"model": "fake/m1", "messages": [{"role": "user", "content": "hi"}]}


def body(text: str) -> dict[str, Any]:
    return {**BODY, "messages": [{"role": "user", "content": text}]}


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    with PrivateRedis() as server:
        yield server


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    with PrivatePostgres() as server:
        yield server


async def _client(rt: Runtime) -> tuple[httpx.AsyncClient, str]:
    key = rt.keys.create("tests", "app").secret
    transport = httpx.ASGITransport(app=create_app(rt))
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers), key


def metric(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? ([0-9.e+-]+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.fixture
async def redis_runtime(
    tmp_path: Path, sqlite_url: str, private_redis: PrivateRedis, fake: FakeProvider, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    closed: bool = getattr(request, "param", False)
    rt = Runtime(
        load_settings(
            home=tmp_path / "home",
            database_url=sqlite_url,
            cache_backend="redis",
            rate_limit_backend="redis",
            rate_limit_key_rpm=100_000,
            rate_limit_fail_closed=closed,
            daily_budget_usd=100.0,
            budget_hard_stop=True,
            redis_url=private_redis.url,
            trace_sinks=["sql"],
        )
    )
    client, _ = await _client(rt)
    try:
        yield rt, client
    finally:
        await client.aclose()
        await rt.aclose()


@pytest.mark.redis
async def test_redis_killed_and_restarted_fails_open_and_recovers(
    redis_runtime: tuple[Runtime, httpx.AsyncClient], private_redis: PrivateRedis
) -> None:
    rt, client = redis_runtime
    assert (await client.post("/v1/chat/completions", json=BODY)).status_code == 200
    assert (await client.get("/readyz")).json()["redis"] == "ok"
    private_redis.kill()
    for i in range(3):  # rate limits fail open, the cache is a miss, the budget lets calls through
        resp = await client.post("/v1/chat/completions", json=body(str(i)))
        assert resp.status_code == 200, resp.text
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["redis"].startswith("down")
    text = (await client.get("/metrics")).text
    assert metric(text, "promptyard_gateway_limiter_errors_total") >= 3
    assert metric(text, "promptyard_gateway_cache_errors_total") >= 3
    assert metric(text, "promptyard_gateway_budget_errors_total") >= 3
    private_redis.start()  # empty: every key was lost
    before = rt.gateway.stats.snapshot()
    for i in range(3):
        resp = await client.post("/v1/chat/completions", json=body(f"b{i}"))
        assert resp.status_code == 200
    after = rt.gateway.stats.snapshot()
    for counter in ("limiter_errors", "cache_errors", "budget_errors"):
        assert after[counter] == before[counter], counter  # recovered without a restart
    assert (await client.get("/readyz")).status_code == 200


@pytest.mark.redis
@pytest.mark.parametrize("redis_runtime", [True], indirect=True)
async def test_rate_limits_set_to_fail_closed_answer_503_naming_redis(
    redis_runtime: tuple[Runtime, httpx.AsyncClient], private_redis: PrivateRedis
) -> None:
    _rt, client = redis_runtime
    before = metric((await client.get("/metrics")).text, "promptyard_dependency_redis_errors_total")
    private_redis.kill()
    resp = await client.post("/v1/chat/completions", json=BODY)
    assert resp.status_code == 503
    err: dict[str, Any] = resp.json()["error"]
    assert err["dependency"] == "redis"
    assert "rate limits unavailable" in err["message"]
    assert resp.headers["retry-after"] == "1"
    after = metric((await client.get("/metrics")).text, "promptyard_dependency_redis_errors_total")
    assert after == before + 1
    private_redis.start()
    assert (await client.post("/v1/chat/completions", json=BODY)).status_code == 200


async def test_postgres_restart_serves_known_keys_and_labels_then_recovers(
    tmp_path: Path, private_pg: PrivatePostgres, fake: FakeProvider
) -> None:
    url = private_pg.url  # a private cluster of its own: nothing else to isolate from
    prompts = tmp_path / "prompts"
    (prompts / "greet").mkdir(parents=True)
    (prompts / "greet" / "1.0.0.prompt").write_text(GREET)
    rt = Runtime(load_settings(home=tmp_path / "home", database_url=url, trace_sinks=["sql"], label_cache_ttl_s=0.0))
    rt.registry.sync(prompts, actor="tests")
    rt.registry.set_label("greet", "production", "1.0.0", actor="tests")
    client, _ = await _client(rt)
    run = {"label": "production", "variables": {"who": "Ada"}}
    try:
        assert (await client.post("/v1/prompts/greet/run", json=run)).status_code == 200
        private_pg.stop()
        resp = await client.post("/v1/prompts/greet/run", json={**run, "variables": {"who": "Bob"}})
        assert resp.status_code == 200, resp.text  # key memoised, label's last known target
        stranger = await client.post("/v1/prompts/greet/run", json=run, headers={"Authorization": "Bearer py_nope_x"})
        assert stranger.status_code == 503
        assert stranger.json()["error"]["dependency"] == "database"
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["database"].startswith("down")
        text = (await client.get("/metrics")).text
        assert metric(text, "promptyard_dependency_database_stale_served_total") >= 1
        assert metric(text, "promptyard_dependency_database_errors_total") >= 1
        private_pg.start()
        assert (await client.get("/readyz")).status_code == 200
        assert (await client.post("/v1/prompts/greet/run", json={**run, "variables": {"who": "Cy"}})).status_code == 200
        rt.tracer.flush()  # type: ignore[attr-defined]
        from sqlalchemy import func, select

        from promptyard.store.tables.tracing import TraceRow

        with rt.db.session() as s:
            traces = s.scalar(select(func.count()).select_from(TraceRow))
        assert traces is not None
        assert traces >= 3  # the trace written while the database was down was retried, not lost
    finally:
        await client.aclose()
        await rt.aclose()
