"""Online evaluators: a sampled share of live traces is scored off the request path, the
scores land on the trace and a canary rolls back on them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptyard.cli.main import app as cli
from promptyard.evals.online.abstention import AbstentionCheck
from promptyard.evals.online.citations import CitationCheck
from promptyard.evals.online.format import FormatCheck
from promptyard.evals.online.scorer import sampled
from promptyard.experiments.canary import CanarySpec, CanaryThresholds
from promptyard.experiments.canary_controller import Canaries
from promptyard.gateway.base import CallContext, PromptCall
from promptyard.prompts.model import PromptSpec
from promptyard.runtime import Runtime
from promptyard.testing import FakeProvider, reply
from promptyard.tracing.model import CitationRecord, Trace
from tests.experiments.conftest import make_runtime


async def calls(rt: Runtime, n: int) -> list[str]:
    ids = []
    for i in range(n):
        ctx = CallContext(end_user=f"user-{i}")
        result = await rt.gateway.run(
            PromptCall(name="greet", label="production", variables={"who": f"u{i}"}, context=ctx)
        )
        ids.append(result.trace_id)
    return ids


async def test_a_sampled_share_is_scored_and_the_scores_show_on_the_trace(
    runtime: Runtime, tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = make_runtime(tmp_path, sqlite_url, online_eval_sample={"greet": 0.5})
    ids = await calls(rt, 200)
    rt.experiments.flush()
    scored = [tid for tid in ids if rt.experiments.scores(tid)]
    assert scored == [tid for tid in ids if sampled(tid, 0.5)]
    assert 60 < len(scored) < 140
    assert rt.experiments.scores(scored[0]) == {"format": 1.0, "abstention": 1.0}  # no citations: no score
    monkeypatch.setenv("PROMPTYARD_ONLINE_EVAL_SAMPLE", json.dumps({"greet": 0.5}))
    out = CliRunner().invoke(cli, ["traces", "show", scored[0]])
    assert out.exit_code == 0, out.stderr
    assert "online scores" in out.stdout
    assert "abstention 1.00 · format 1.00" in out.stdout
    await rt.aclose()


async def test_a_canary_rolls_back_on_an_online_score(
    runtime: Runtime, fake: FakeProvider, tmp_path: Path, sqlite_url: str
) -> None:
    rt = make_runtime(tmp_path, sqlite_url, online_eval_sample={"*": 1.0})
    fake.script(*[reply("I don't know.") for _ in range(200)], model="model-b")  # 1.1.0 abstains
    canaries = Canaries(rt.experiments, alert=lambda _a: None, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    spec = CanarySpec(
        prompt="greet",
        to="1.1.0",
        name="q",
        thresholds=CanaryThresholds(quality="score.abstention", min_quality_samples=10),
    )
    canaries.start(spec, actor="ops")
    await calls(rt, 800)
    did = canaries.tick()
    assert "rolled back" in did[0]
    assert "score.abstention 0.000 vs 1.000 on the baseline" in did[0]
    assert rt.registry.label("greet", "production").version == "1.0.0"
    await rt.aclose()


def test_the_checks() -> None:
    spec = PromptSpec.model_validate(
        {
            "name": "p",
            "version": "1",
            "model": {"response_format": "json"},
            "blocks": [{"role": "user", "template": "x"}],
        }
    )
    assert FormatCheck().score(Trace(answer='{"a": 1}'), spec) == 1.0
    assert FormatCheck().score(Trace(answer="not json"), spec) == 0.5
    assert FormatCheck().score(Trace(answer=""), None) == 0.0
    cited = Trace(
        answer="x", citations=[CitationRecord(doc_id="a", valid=True), CitationRecord(doc_id="b", valid=False)]
    )
    assert CitationCheck().score(cited, None) == 0.5
    assert CitationCheck().score(Trace(answer="x"), None) is None
    assert AbstentionCheck().score(Trace(answer="I don't know."), None) == 0.0
    assert AbstentionCheck().score(Trace(answer="Paris."), None) == 1.0
