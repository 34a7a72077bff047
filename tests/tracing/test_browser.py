"""The cost dashboard in a real headless Chromium (Debian's, driven by Playwright for Python)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn

from promptyard.runtime import Runtime
from promptyard.server.app import create_app
from promptyard.tracing.files import trace_dir
from promptyard.tracing.sinks.jsonl import JsonlSink
from promptyard.tracing.sinks.sql import SqlSink

from .conftest import make_trace

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: run `make browser`"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(make_runtime: Callable[..., Runtime]) -> Iterator[tuple[str, str, Runtime]]:
    rt = make_runtime(daily_budget_usd=2.0)
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    traces = []
    for d in range(10):
        for i, model in enumerate(["claude-haiku", "gpt-4o-mini", "smollm2"] * 2):
            traces.append(
                make_trace(
                    timestamp=now - timedelta(days=d, minutes=i),
                    model=model,
                    prompt_name=["faq", "summary"][i % 2],
                    transform="hyde" if i == 0 else None,
                    cost_usd=0.05 * (i + 1),
                    answer_cache_hit=i == 5,
                    cost_saved_usd=0.1 if i == 5 else 0.0,
                    latency={"total_ms": 200.0 + 50 * i},
                )
            )
    SqlSink(rt.db).write(traces)
    sink = JsonlSink(trace_dir(rt.settings.home))
    sink.write(traces)
    sink.close()
    key = rt.keys.create("browser", "viewer").secret
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(rt), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        assert time.monotonic() < deadline, "the server did not start within 20 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", key, rt
    finally:
        server.should_exit = True
        thread.join(10)


def test_costs_page_renders_charts_with_the_right_totals(served: tuple[str, str, Runtime], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    base, key, _rt = served
    expected_total = round(10 * sum(0.05 * (i + 1) for i in range(6)), 2)  # 10 days x 1.05
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{base}/admin/costs?key={key}")
            assert page.url == f"{base}/admin/costs"  # the key was moved into a cookie
            page.wait_for_selector("body[data-charts-ready='1']", timeout=15_000)
            assert page.inner_text("#total-spend") == f"${expected_total:.2f}"
            sums = page.evaluate("""() => Object.fromEntries(
                ['daily-chart', 'model-chart', 'prompt-chart', 'transform-chart'].map(id => {
                    const chart = Chart.getChart(id);
                    return [id, chart.data.datasets[0].data.reduce((a, b) => a + b, 0)];
                }))""")
            for chart_id, total in sums.items():
                assert total == pytest.approx(expected_total), chart_id
            budget = page.evaluate("() => Chart.getChart('daily-chart').data.datasets[1].data[0]")
            assert budget == 2.0
            labels = page.evaluate("() => Chart.getChart('model-chart').data.labels")
            assert sorted(labels) == ["claude-haiku", "gpt-4o-mini", "smollm2"]
            painted = page.evaluate("""() => {
                const c = document.getElementById('daily-chart');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
                return n;
            }""")
            assert painted > 2000  # the line chart really drew something
            shot = tmp_path / "costs.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
            page.goto(f"{base}/admin/traces")
            assert page.locator("#trace-list tbody tr").count() == 50
        finally:
            browser.close()
    assert problems == []  # no script errors, no CSP violations
