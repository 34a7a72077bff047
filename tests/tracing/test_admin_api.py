"""The operator pages and their JSON twins: auth, numbers, filters, 404 and 422, /metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from promptyard.runtime import Runtime
from promptyard.server.app import create_app
from promptyard.tracing.files import trace_dir
from promptyard.tracing.model import Trace
from promptyard.tracing.sinks.jsonl import JsonlSink
from promptyard.tracing.sinks.sql import SqlSink

from .conftest import make_trace, rag_trace


@dataclass
class Admin:
    client: TestClient
    rt: Runtime
    viewer: str
    app_key: str
    traces: list[Trace]

    def h(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.viewer}"}


def seed_into(rt: Runtime, traces: list[Trace]) -> None:
    SqlSink(rt.db).write(traces)
    sink = JsonlSink(trace_dir(rt.settings.home))
    sink.write(traces)
    sink.close()


@pytest.fixture
def admin(make_runtime: Callable[..., Runtime]) -> Iterator[Admin]:
    rt = make_runtime(daily_budget_usd=1.0)
    now = datetime.now(UTC).replace(microsecond=0)
    traces = [
        make_trace(timestamp=now - timedelta(minutes=5), cost_usd=0.25, model="big"),
        make_trace(timestamp=now - timedelta(minutes=4), cost_usd=0.05, model="small", prompt_name="faq"),
        make_trace(
            timestamp=now - timedelta(minutes=3),
            status="error",
            error_type="provider_timeout",
            error_message="took too long",
            cost_usd=0.0,
            answer=None,
        ),
        rag_trace(timestamp=now - timedelta(days=1), cost_usd=0.1),
    ]
    seed_into(rt, traces)
    viewer = rt.keys.create("ops", "viewer").secret
    app_key = rt.keys.create("svc", "app").secret
    with TestClient(create_app(rt)) as client:
        yield Admin(client, rt, viewer, app_key, traces)


def test_costs_json_has_the_dashboard_numbers(admin: Admin) -> None:
    r = admin.client.get("/admin/costs.json", headers=admin.h())
    assert r.status_code == 200
    d = r.json()
    assert d["totals"]["requests"] == 4
    assert d["totals"]["cost_usd"] == pytest.approx(0.4)
    assert d["daily"][-1]["cost_usd"] == pytest.approx(0.3)
    assert {m["key"]: m["cost_usd"] for m in d["by_model"]} == pytest.approx({"big": 0.25, "small": 0.05, "m1": 0.1})
    assert d["budget"]["daily_budget_usd"] == 1.0
    assert len(d["daily"]) == 30


@pytest.mark.parametrize("query", ["days=0", "days=367", "days=abc", "project=" + "x" * 201])
def test_out_of_range_parameters_are_422(admin: Admin, query: str) -> None:
    assert admin.client.get(f"/admin/costs.json?{query}", headers=admin.h()).status_code == 422
    assert admin.client.get(f"/admin/costs?{query}", headers=admin.h()).status_code == 422


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=501", "offset=-1", "since=yesterday", "since=2026-13-45", "status=maybe", "kind=other"]
)
def test_bad_trace_filters_are_422(admin: Admin, query: str) -> None:
    assert admin.client.get(f"/admin/traces.json?{query}", headers=admin.h()).status_code == 422


def test_auth_roles_and_the_key_in_the_url(admin: Admin) -> None:
    c = admin.client
    assert c.get("/admin/costs.json").status_code == 401
    assert c.get("/admin/costs.json", headers=admin.h("py_nope_nope")).status_code == 401
    assert c.get("/admin/costs.json", headers=admin.h(admin.app_key)).status_code == 200  # app outranks viewer
    page = c.get("/admin/costs")
    assert page.status_code == 401
    assert "Sign in" in page.text
    bad = c.get("/admin/costs?key=py_wrong_key")
    assert bad.status_code == 401
    assert "invalid or revoked" in bad.text
    r = c.get(f"/admin/costs?days=7&key={admin.viewer}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/costs?days=7"  # the key leaves the URL
    cookie = r.headers["set-cookie"]
    assert "promptyard_key=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    page = c.get("/admin/costs?days=7")  # the cookie from the redirect is kept by the client
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert "$0.40" in page.text
    c.cookies.clear()
    assert c.get("/admin/costs").status_code == 401


def test_trace_list_and_filters(admin: Admin) -> None:
    c, h = admin.client, admin.h()
    rows = c.get("/admin/traces.json", headers=h).json()["traces"]
    t = admin.traces
    assert [r["trace_id"] for r in rows] == [t[2].trace_id, t[1].trace_id, t[0].trace_id, t[3].trace_id]
    assert len(c.get("/admin/traces.json?status=error", headers=h).json()["traces"]) == 1
    assert len(c.get("/admin/traces.json?model=small&status=", headers=h).json()["traces"]) == 1
    assert len(c.get("/admin/traces.json?kind=rag", headers=h).json()["traces"]) == 1
    page = c.get("/admin/traces?prompt=faq&status=&kind=&since=", headers=h)
    assert page.status_code == 200
    assert page.text.count('href="/admin/traces/') == 1


def test_trace_detail_and_unknown_ids(admin: Admin) -> None:
    c, h = admin.client, admin.h()
    rag = admin.traces[3]
    full = c.get(f"/admin/traces/{rag.trace_id}.json", headers=h).json()
    assert full["source"] == "jsonl"
    assert full["trace"]["context_chunk_ids"] == ["c0", "c1"]
    page = c.get(f"/admin/traces/{rag.trace_id}", headers=h)
    assert page.status_code == 200
    for text in ("Retrieval", "hyde", "c0", "Hello, Ada!", "Reranked"):
        assert text in page.text
    missing = c.get("/admin/traces/01a0000000000000000000000000.json", headers=h)
    assert missing.status_code == 404
    assert "searched" in missing.json()["error"]["message"]
    assert c.get("/admin/traces/01a0000000000000000000000000", headers=h).status_code == 404
    assert c.get("/admin/traces/bad%20id!", headers=h).status_code == 422


def test_detail_falls_back_to_the_sql_summary(admin: Admin) -> None:
    only_sql = make_trace(answer="only in SQL")
    SqlSink(admin.rt.db).write([only_sql])
    r = admin.client.get(f"/admin/traces/{only_sql.trace_id}.json", headers=admin.h())
    assert r.json()["source"] == "sql-summary"
    page = admin.client.get(f"/admin/traces/{only_sql.trace_id}", headers=admin.h())
    assert "not in this server" in page.text


def test_static_files_are_local_and_safe(admin: Admin) -> None:
    c = admin.client
    js = c.get("/admin/static/vendor/chartjs/chart.umd.min.js")
    assert js.status_code == 200
    assert "Chart.js v4" in js.text[:200]
    assert c.get("/admin/static/../../settings.py").status_code == 404
    assert c.get("/admin/static/%2e%2e/templates/base.html").status_code == 404
    page = c.get("/admin/costs", headers=admin.h())
    assert "http://" not in page.text
    assert "https://" not in page.text  # no CDN


def test_metrics_endpoint(admin: Admin) -> None:
    c = admin.client
    assert c.get("/metrics").status_code == 401
    admin.rt.tracer.record(make_trace(model="big", cost_usd=0.5, cache_read_tokens=10))
    admin.rt.tracer.record(make_trace(status="error", error_type="provider_timeout"))
    assert admin.rt.tracer.flush(10)  # type: ignore[attr-defined]
    r = c.get("/metrics", headers=admin.h())
    assert r.status_code == 200
    text = r.text
    assert 'promptyard_requests_total{kind="prompt",model="big",provider="fake",status="ok"} 1.0' in text
    assert 'promptyard_errors_total{type="provider_timeout"} 1.0' in text
    assert 'promptyard_cost_usd_total{model="big"} 0.5' in text
    assert 'promptyard_stage_latency_seconds_bucket{le="0.25",stage="total"} 2.0' in text
    assert 'promptyard_cache_hits_total{cache="prompt"} 1.0' in text
    assert "promptyard_trace_queue_depth 0.0" in text
    assert 'promptyard_traces_dropped_total{reason="queue_full"} 0.0' in text
    assert 'promptyard_traces_written_total{sink="sql"} 2.0' in text
