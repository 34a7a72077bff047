"""Guard verdicts on the operator pages and in /metrics: counts per guard and prompt, the trace's table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from promptyard.guards.base import Span, Verdict
from promptyard.runtime import Runtime
from promptyard.server.app import create_app

from .conftest import make_trace
from .test_admin_api import seed_into


def _verdict(guard: str, outcome: str) -> Verdict:
    return Verdict(guard=guard, triggered=outcome != "pass", score=0.9, outcome=outcome,  # type: ignore[arg-type]
                   where="documents[0].text", spans=[Span(start=3, end=9, label="phrase:en")], reason="r")  # fmt: skip


def test_guard_counts_on_the_dashboard_trace_page_and_metrics(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime()
    now = datetime.now(UTC).replace(microsecond=0)
    blocked = make_trace(timestamp=now, prompt_name="rag_answer", guards=[_verdict("injection", "block")])
    traces = [
        blocked,
        make_trace(timestamp=now, prompt_name="rag_answer", guards=[_verdict("injection", "block")]),
        make_trace(timestamp=now, prompt_name="faq", guards=[_verdict("pii", "redact"), _verdict("topics", "pass")]),
    ]
    seed_into(rt, traces)
    viewer = rt.keys.create("ops", "viewer").secret
    h = {"Authorization": f"Bearer {viewer}"}
    with TestClient(create_app(rt)) as c:
        page = c.get("/admin/costs", headers=h).text
        assert 'id="guards"' in page
        row = page[page.index('id="guards"') :]
        assert "injection" in row
        assert "rag_answer" in row
        assert "<td>2</td>" in row
        assert "topics" not in row  # passes are not counted
        detail = c.get(f"/admin/traces/{blocked.trace_id}", headers=h).text
        assert "documents[0].text" in detail
        assert "phrase:en 3-9" in detail
        rt.tracer.record(make_trace(prompt_name="faq", guards=[_verdict("pii", "flag")]))
        assert rt.tracer.flush(10)  # type: ignore[attr-defined]
        metrics = c.get("/metrics", headers=h).text
        assert 'promptyard_guard_verdicts_total{guard="pii",outcome="flag",prompt="faq"} 1.0' in metrics
