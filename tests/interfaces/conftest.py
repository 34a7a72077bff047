"""Fixtures for the HTTP interfaces: a runtime with a gateway, an app key, ASGI and live servers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from promptyard.runtime import Runtime
from promptyard.server.app import create_app
from promptyard.settings import load_settings
from tests.interfaces.standin import StandInGateway


class LiveServer:
    """uvicorn in a background thread on a free loopback port; stopped by ``close``."""

    def __init__(self, app: Any, http: str = "auto") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False, http=http)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


GREET = """---
name: greet
version: 1.0.0
model: {provider: fake, model: greeter}
variables:
  who: {type: string}
---
[system]
You are friendly.

[user]
Say hello to {{ who }}.
"""


@pytest.fixture
def registry_prompt(runtime: Runtime) -> None:
    folder = Path(runtime.settings.prompts_dir) / "greet"
    folder.mkdir(parents=True)
    (folder / "1.0.0.prompt").write_text(GREET)
    runtime.registry.sync(runtime.settings.prompts_dir, actor="tests")
    runtime.registry.set_label("greet", "production", "1.0.0", actor="tests")


@pytest.fixture
def runtime(tmp_path: Path, sqlite_url: str) -> Runtime:
    return Runtime(load_settings(home=tmp_path / "home", database_url=sqlite_url, prompts_dir=tmp_path / "prompts"))


@pytest.fixture
def gateway(runtime: Runtime) -> StandInGateway:
    gw = StandInGateway()
    runtime.__dict__["gateway"] = gw
    return gw


@pytest.fixture
def app_key(runtime: Runtime) -> str:
    return runtime.keys.create("tests", "app").secret


@pytest.fixture
def app(runtime: Runtime, gateway: Any) -> FastAPI:
    return create_app(runtime)


@pytest.fixture
async def client(app: FastAPI, app_key: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {app_key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as c:
        yield c


@pytest.fixture
def live(app: FastAPI) -> Iterator[LiveServer]:
    server = LiveServer(app)
    try:
        yield server
    finally:
        server.close()
