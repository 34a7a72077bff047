"""A streaming client that disconnects: the provider call is cancelled and the trace still written."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.interfaces.conftest import LiveServer
from tests.interfaces.standin import StandInGateway


def _wait(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/v1/chat/completions",
            {"model": "fake/echo", "messages": [{"role": "user", "content": "hi"}], "stream": True},
        ),
        ("/v1/prompts/greet/run", {"label": "production", "stream": True}),
    ],
)
def test_disconnect_cancels_provider_and_writes_trace(
    live: LiveServer, gateway: StandInGateway, app_key: str, path: str, body: dict[str, object]
) -> None:
    gateway.text = " ".join(f"w{i}" for i in range(200))
    gateway.delay = 0.05  # 200 words * 50 ms: the stream would take 10 s
    headers = {"Authorization": f"Bearer {app_key}"}
    with (
        httpx.Client(base_url=live.url, headers=headers, timeout=10) as http,
        http.stream("POST", path, json=body) as resp,
    ):
        assert resp.status_code == 200
        lines = resp.iter_lines()
        got = [next(lines) for _ in range(3)]
        assert any("w0" in line for line in got)
    # leaving the block closed the connection mid-stream
    assert _wait(gateway.cancelled.is_set), "the provider never saw the cancellation"
    assert _wait(lambda: len(gateway.recorder.traces) == 1), "no trace was written"
    assert gateway.recorder.traces[0].status == "cancelled"
    assert gateway.chunks_sent < 100
