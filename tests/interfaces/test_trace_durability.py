"""Traces and a crashing instance: SIGTERM flushes every queued trace; kill -9 loses only what was queued.

The writer is told to wait 30 s between flushes (and to batch 10,000), so every trace of the run is
still queued when the signal arrives: SIGTERM must write them all, kill -9 loses exactly those.
With the default 0.2 s interval, that is the kill -9 window (measured by bench/campaign.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from promptyard.runtime import Runtime
from promptyard.settings import load_settings
from promptyard.store.db import Database
from promptyard.store.tables.tracing import TraceRow
from promptyard.testing.services import free_port
from tests.interfaces.conftest import LiveServer
from tests.interfaces.test_shared_rate_limit import ANSWER, _wait_healthy

N = 25


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


def _run(tmp_path: Path, upstream: LiveServer, sig: signal.Signals) -> int:
    db_url = f"sqlite:///{(tmp_path / 'traces.db').as_posix()}"
    rt = Runtime(load_settings(home=tmp_path / "home", database_url=db_url))
    key = rt.keys.create("durability", "app").secret
    rt.db.dispose()
    env = {
        **os.environ,
        "PROMPTYARD_HOME": str(tmp_path / "home"),
        "PROMPTYARD_DATABASE_URL": db_url,
        "PROMPTYARD_OPENAI_BASE_URL": upstream.url + "/v1",
        "PROMPTYARD_OPENAI_API_KEY": "sk-test",
        "PROMPTYARD_CACHE_BACKEND": "none",
        "PROMPTYARD_TRACE_SINKS": '["sql"]',
        "PROMPTYARD_TRACE_FLUSH_INTERVAL_S": "30",
        "PROMPTYARD_TRACE_BATCH_SIZE": "10000",
        "PROMPTYARD_LOCAL_RUNTIME_CHECK": "off",
    }
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "promptyard.server.asgi:app", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            for i in range(N):
                body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": f"r{i}"}]}
                assert client.post(url + "/v1/chat/completions", json=body).status_code == 200
        proc.send_signal(sig)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    db = Database(db_url)
    try:
        with db.session() as s:
            return int(s.scalar(select(func.count()).select_from(TraceRow)) or 0)
    finally:
        db.dispose()


@pytest.mark.slow
def test_sigterm_flushes_every_queued_trace(tmp_path: Path, upstream: LiveServer) -> None:
    assert _run(tmp_path, upstream, signal.SIGTERM) == N


@pytest.mark.slow
def test_kill_9_loses_only_the_queued_window(tmp_path: Path, upstream: LiveServer) -> None:
    assert _run(tmp_path, upstream, signal.SIGKILL) == 0  # all N were inside the (30 s) window
