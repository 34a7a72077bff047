"""Feedback: posted over HTTP (and the client) for a real trace, shown on the trace, counted
in the experiment's primary metric, and turned into a dataset of negative examples."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from typer.testing import CliRunner

from promptyard.cli.main import app as cli
from promptyard.client import AsyncClient
from promptyard.errors import NotFound
from promptyard.evals.from_traces import items_from_traces
from promptyard.experiments.model import ExperimentSpec, parse_arms
from promptyard.runtime import Runtime
from promptyard.server.app import create_app
from promptyard.tracing.files import trace_dir
from promptyard.tracing.reader import TraceReader


@pytest.fixture
async def http(runtime: Runtime) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncClient]]:
    key = runtime.keys.create("app-key", "app").secret
    asgi = httpx.ASGITransport(app=create_app(runtime))
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx.AsyncClient(transport=asgi, base_url="http://testserver", headers=headers) as raw,
        AsyncClient("http://testserver", api_key=key, transport=asgi) as py,
    ):
        yield raw, py


async def run(raw: httpx.AsyncClient, user: str) -> dict[str, str]:
    response = await raw.post(
        "/v1/prompts/greet/run", json={"label": "production", "variables": {"who": user}, "end_user": user}
    )
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


async def test_feedback_appears_on_the_trace_and_in_the_primary_metric(
    runtime: Runtime, http: tuple[httpx.AsyncClient, AsyncClient]
) -> None:
    raw, py = http
    spec = ExperimentSpec(name="fb", prompt="greet", arms=parse_arms("1.0.0=50,1.1.0=50"), min_samples=1)
    runtime.experiments.start(spec, actor="tests")
    results = [await run(raw, f"user-{i}") for i in range(40)]
    ups: dict[str, list[int]] = {"1.0.0": [], "1.1.0": []}
    for i, result in enumerate(results):
        version = result["prompt"].split("@")[1]
        thumbs = "up" if (version == "1.1.0" or i % 2) else "down"  # 1.1.0 always up, 1.0.0 half
        feedback = await py.feedback(result["trace_id"], thumbs=thumbs, signals=["copied"])
        assert (feedback.trace_id, feedback.thumbs, feedback.actor) == (result["trace_id"], thumbs, "app-key")
        ups[version].append(thumbs == "up")

    listed = await raw.get(f"/v1/traces/{results[0]['trace_id']}/feedback")
    assert listed.status_code == 200
    assert [f["signals"] for f in listed.json()] == [["copied"]]

    analysis = runtime.experiments.status("fb")
    assert analysis.primary == "feedback.thumbs_up"
    for arm in analysis.arms:
        primary = next(m for m in arm.metrics if m.metric == "feedback.thumbs_up")
        assert primary.n == len(ups[arm.version])
        assert primary.mean == pytest.approx(sum(ups[arm.version]) / len(ups[arm.version]))
        assert primary.ci.low <= primary.mean <= primary.ci.high
    diff = next(d for d in analysis.diffs if d.metric == "feedback.thumbs_up")
    assert diff.test.test == "two-proportion z"
    assert diff.test.diff > 0
    assert diff.sequential_p is not None

    code = CliRunner().invoke(cli, ["traces", "show", results[0]["trace_id"]])
    assert code.exit_code == 0, code.stderr
    assert "feedback" in code.stdout
    assert "signals copied" in code.stdout
    assert "experiment" in code.stdout
    assert "fb · arm" in code.stdout


async def test_unknown_traces_and_empty_feedback_are_refused(
    runtime: Runtime, http: tuple[httpx.AsyncClient, AsyncClient]
) -> None:
    raw, py = http
    with pytest.raises(NotFound, match="no trace"):
        await py.feedback("nope", thumbs="up")
    result = await run(raw, "u")
    empty = await raw.post("/v1/feedback", json={"trace_id": result["trace_id"]})
    assert empty.status_code == 422
    bad = await raw.post("/v1/feedback", json={"trace_id": result["trace_id"], "rating": 9})
    assert bad.status_code == 422


async def test_negative_feedback_becomes_a_dataset_without_reference_answers(
    runtime: Runtime, http: tuple[httpx.AsyncClient, AsyncClient]
) -> None:
    raw, py = http
    good, bad, retried = [await run(raw, who) for who in ("ann", "bob", "cy")]
    await py.feedback(good["trace_id"], thumbs="up")
    await py.feedback(bad["trace_id"], thumbs="down", comment="wrong name")
    await py.feedback(retried["trace_id"], signals=["retried"])
    runtime.experiments.flush()
    negative = runtime.experiments.feedback_store.negative_trace_ids()
    assert negative == {bad["trace_id"], retried["trace_id"]}
    reader = TraceReader(trace_dir(runtime.settings.home))
    selection = items_from_traces(
        reader.iter_days(), prompt="greet", since=datetime(2000, 1, 1, tzinfo=UTC), negative=negative
    )
    assert {i.item_id for i in selection.items} == negative
    assert all(i.expected == [] and i.metadata["rejected_answer"] for i in selection.items)
    assert all("feedback:negative" in i.tags for i in selection.items)

    day = datetime.now(UTC).strftime("%Y-%m-%d")
    out = CliRunner().invoke(
        cli, ["datasets", "from-traces", "--prompt", "greet", "--since", day, "--feedback", "negative"]
    )
    assert out.exit_code == 0, out.stderr
    assert "2 rows" in out.stdout
