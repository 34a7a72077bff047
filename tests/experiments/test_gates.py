"""Eval-gated promotion: a gated label refuses a version without a non-regressing eval run."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptyard.errors import EvalGateRefused
from promptyard.evals.model import DatasetItem
from promptyard.evals.service import EvalOptions
from promptyard.experiments.canary import CanarySpec
from promptyard.experiments.model import ExperimentSpec, parse_arms
from promptyard.runtime import Runtime
from promptyard.testing import FakeProvider, reply
from tests.experiments.conftest import make_runtime

NAMES = ["ann", "bob", "cy", "dee", "eve", "fay"]


@pytest.fixture
def gated(runtime: Runtime, tmp_path: Path, sqlite_url: str) -> Runtime:
    rt = make_runtime(tmp_path, sqlite_url, eval_gates={"production": "golden"})
    items = [DatasetItem(item_id=n, inputs={"who": n}, expected=[f"echo: Say hello to {n}."]) for n in NAMES]
    rt.evals.datasets.add_items("golden", items, actor="tests")
    return rt


async def test_a_gated_label_needs_a_non_regressing_eval_run(gated: Runtime, fake: FakeProvider) -> None:
    with pytest.raises(EvalGateRefused, match=r"greet@1\.1\.0 has no completed eval run") as refused:
        gated.registry.set_label("greet", "production", "1.1.0", actor="ops")
    assert "promptyard eval compare greet@1.0.0 greet@1.1.0 --dataset golden" in str(refused.value)
    with pytest.raises(EvalGateRefused):
        gated.experiments.canaries.start(CanarySpec(prompt="greet", to="1.1.0"), actor="ops")
    assert gated.registry.label("greet", "production").version == "1.0.0"

    fake.script(*[reply("no idea") for _ in NAMES], model="model-b")  # 1.1.0 answers badly
    bad = await gated.evals.compare("greet@1.0.0", "greet@1.1.0", "golden", EvalOptions(use_cache=False))
    assert bad.regressed
    with pytest.raises(EvalGateRefused, match=r"regresses .* against 1\.0\.0 on golden@1"):
        gated.registry.set_label("greet", "production", "1.1.0", actor="ops")
    gated.experiments.start(ExperimentSpec(name="ab", prompt="greet", arms=parse_arms("1.0.0=1,1.1.0=1")), actor="o")
    with pytest.raises(EvalGateRefused):
        gated.experiments.promote("ab", version="1.1.0", actor="ops")
    gated.experiments.stop("ab", actor="ops")

    good = await gated.evals.compare(
        "greet@1.0.0", "greet@1.1.0", "golden", EvalOptions(use_cache=False, new_run=True), rerun=True
    )
    assert not good.regressed
    move = gated.registry.set_label("greet", "production", "1.1.0", actor="ops")
    assert move.to_version == "1.1.0"
    assert gated.registry.rollback("greet", "production", actor="ops").to_version == "1.0.0"  # never gated
    await gated.aclose()


def test_ungated_labels_move_freely(gated: Runtime) -> None:
    assert gated.registry.set_label("greet", "staging", "1.1.0", actor="ops").to_version == "1.1.0"
