"""The experiments pages: arms, deltas with intervals, SRM warning, canary steps; all escaped."""

from __future__ import annotations

import httpx

from promptyard.experiments.canary import CanarySpec
from promptyard.experiments.model import ExperimentSpec, parse_arms
from promptyard.runtime import Runtime
from promptyard.server.app import create_app
from promptyard.tracing.model import Trace


async def test_experiment_pages_show_arms_deltas_srm_and_canary_steps_escaped(runtime: Runtime) -> None:
    spec = ExperimentSpec(name="ab", prompt="greet", arms=parse_arms("1.0.0=50,1.1.0=50"))
    runtime.experiments.start(spec, actor="ops")
    for i in range(400):  # a broken split: 3 in 4 units on 1.0.0
        arm = "1.0.0" if i % 4 else "1.1.0"
        runtime.tracer.record(
            Trace(prompt_name="greet", prompt_version=arm, experiment="ab", experiment_arm=arm, experiment_unit=f"u{i}")
        )
    runtime.experiments.stop("ab", actor="ops", reason="<script>alert(1)</script>")
    runtime.experiments.canaries.start(CanarySpec(prompt="greet", to="1.1.0", name="can"), actor="ops")
    viewer = runtime.keys.create("viewer", "viewer").secret
    headers = {"Authorization": f"Bearer {viewer}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime)), base_url="http://t") as c:
        listing = await c.get("/admin/experiments", headers=headers)
        assert listing.status_code == 200
        assert 'href="/admin/experiments/ab"' in listing.text
        assert "can" in listing.text
        assert "default-src 'self'" in listing.headers["content-security-policy"]
        page = await c.get("/admin/experiments/ab", headers=headers)
        assert page.status_code == 200
        assert 'id="srm-warning"' in page.text
        assert '1.0.0 <span class="muted small">baseline</span>' in page.text
        assert "error_rate" in page.text
        assert "two-proportion z" in page.text
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        canary = await c.get("/admin/experiments/can", headers=headers)
        assert 'id="canary-steps"' in canary.text
        assert "5%" in canary.text
        missing = await c.get("/admin/experiments/nope", headers=headers)
        assert missing.status_code == 404
        anonymous = await c.get("/admin/experiments")
        assert anonymous.status_code == 401


async def test_the_trace_page_shows_experiment_feedback_and_scores_escaped(runtime: Runtime) -> None:
    from promptyard.experiments.feedback import FeedbackIn
    from promptyard.gateway.base import CallContext, PromptCall
    from promptyard.store.tables.experiments import TraceScoreRow

    runtime.experiments.start(ExperimentSpec(name="ab", prompt="greet", arms=parse_arms("1.0.0=1,1.1.0=1")), actor="o")
    result = await runtime.gateway.run(
        PromptCall(name="greet", label="production", variables={"who": "a"}, context=CallContext(end_user="u"))
    )
    runtime.experiments.add_feedback(FeedbackIn(trace_id=result.trace_id, thumbs="down", comment="<b>bad</b>"))
    with runtime.db.session() as s:
        s.add(TraceScoreRow(trace_id=result.trace_id, evaluator="format", score=1.0))
    viewer = runtime.keys.create("viewer", "viewer").secret
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime)), base_url="http://t") as c:
        page = await c.get(f"/admin/traces/{result.trace_id}", headers={"Authorization": f"Bearer {viewer}"})
    assert page.status_code == 200
    assert 'href="/admin/experiments/ab"' in page.text
    assert "thumbs down" in page.text
    assert "&lt;b&gt;bad&lt;/b&gt;" in page.text
    assert "format 1.00" in page.text
