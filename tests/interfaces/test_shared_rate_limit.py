"""Two gateway PROCESSES share one Redis rate limit.

Two uvicorn subprocesses serve promptyard with ``PROMPTYARD_RATE_LIMIT_BACKEND=redis``, a
low per-key rpm, the same Redis and a unique key prefix. Their ``openai`` provider talks to
a tiny OpenAI-compatible upstream on loopback. Requests alternate between the two: the
total accepted equals the limit, every other request is a 429 with Retry-After.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from promptyard.runtime import Runtime
from promptyard.settings import load_settings
from tests.interfaces.conftest import LiveServer

RPM = 4
ANSWER = {
    "id": "chatcmpl-up",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


@pytest.fixture
def upstream() -> Iterator[LiveServer]:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    def complete() -> dict[str, object]:
        return ANSWER

    server = LiveServer(app)
    try:
        yield server
    finally:
        server.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise AssertionError(f"gateway process exited: {out[-2000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} did not start")


@pytest.mark.slow
@pytest.mark.redis
def test_two_gateway_processes_share_one_redis_limit(tmp_path: Path, redis_url: str, upstream: LiveServer) -> None:
    db_url = f"sqlite:///{(tmp_path / 'shared.db').as_posix()}"
    rt = Runtime(load_settings(home=tmp_path / "home", database_url=db_url))
    key = rt.keys.create("two-procs", "app").secret
    rt.db.dispose()
    env = {
        **os.environ,
        "PROMPTYARD_HOME": str(tmp_path / "home"),
        "PROMPTYARD_DATABASE_URL": db_url,
        "PROMPTYARD_RATE_LIMIT_BACKEND": "redis",
        "PROMPTYARD_RATE_LIMIT_KEY_RPM": str(RPM),
        "PROMPTYARD_REDIS_URL": redis_url,
        "PROMPTYARD_REDIS_PREFIX": os.environ["PROMPTYARD_TEST_REDIS_PREFIX"],
        "PROMPTYARD_CACHE_BACKEND": "none",
        "PROMPTYARD_OPENAI_BASE_URL": upstream.url + "/v1",
        "PROMPTYARD_OPENAI_API_KEY": "sk-test",
        "PROMPTYARD_LOG_LEVEL": "warning",
    }
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for _ in range(2):
            port = _free_port()
            cmd = [
                sys.executable,
                "-m",
                "uvicorn",
                "promptyard.server.asgi:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ]
            procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs, strict=True):
            _wait_healthy(url, proc)

        statuses: list[tuple[int, int]] = []
        retry_after: list[str | None] = []
        for i in range(10):
            which = i % 2
            body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": f"request {i}"}]}
            resp = httpx.post(
                urls[which] + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30
            )
            statuses.append((which, resp.status_code))
            if resp.status_code == 429:
                retry_after.append(resp.headers.get("retry-after"))
                assert resp.json()["error"]["type"] == "rate_limited"
            else:
                assert resp.status_code == 200, resp.text
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)

    accepted = [which for which, status in statuses if status == 200]
    assert len(accepted) == RPM, statuses
    assert set(accepted) == {0, 1}  # both processes served some of the shared budget
    assert len(retry_after) == 10 - RPM
    assert all(ra is not None and int(ra) >= 1 for ra in retry_after)
