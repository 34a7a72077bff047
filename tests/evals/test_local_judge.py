"""The shipped judge rubric on the real local model: every item gets a verdict or a recorded judge failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptyard.evals.model import DatasetItem, ModelAnswer
from promptyard.evals.service import EvalOptions
from promptyard.runtime import Runtime
from promptyard.settings import load_settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


async def test_local_judge_never_crashes_and_never_silently_zeroes(tmp_path: Path) -> None:
    settings = load_settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{(tmp_path / 'py.db').as_posix()}",
        prompts_dir=ROOT / "prompts",
        cache_backend="none",
    )
    rt = Runtime(settings)
    rt.registry.sync(ROOT / "prompts", actor="tests")
    items = [
        DatasetItem(
            item_id="a",
            inputs={"question": "Which team won Super Bowl 50?", "documents": []},
            expected=["Denver Broncos"],
            human_score=5,
        ),
        DatasetItem(
            item_id="b",
            inputs={"question": "Where was Super Bowl 50 played?", "documents": []},
            expected=["Levi's Stadium"],
            human_score=1,
        ),
        DatasetItem(
            item_id="c",
            inputs={"question": "Who lost Super Bowl 50?", "documents": []},
            expected=["Carolina Panthers"],
            human_score=5,
        ),
    ]
    rt.evals.datasets.add_items("sb50", items, actor="tests")
    answers = {"a": "The Denver Broncos won.", "b": "It was played on the Moon.", "c": "Carolina Panthers"}

    async def fixed(item: DatasetItem) -> ModelAnswer:
        return ModelAnswer(text=answers[item.item_id])

    rt.evals.reports_dir = tmp_path / "reports"
    outcome = await rt.evals.run(
        "rag_answer@1.0.0", "sb50", EvalOptions(judge="judge_answer@1.0.0", concurrency=1), call=fixed
    )
    verdicts = [r.judge for r in outcome.results]
    assert all(v is not None for v in verdicts)
    for v in verdicts:
        assert v is not None
        if v.status == "ok":
            assert v.score is not None
            assert 1 <= v.score <= 5
            assert v.reason
        else:
            assert v.score is None
            assert v.error
    agg = outcome.run.aggregates or {}
    judged_ok = [v for v in verdicts if v is not None and v.status == "ok"]
    assert agg["judge"]["failures"] == 3 - len(judged_ok)
    if judged_ok:
        assert agg["metrics"]["judge_score"]["n"] == len(judged_ok)
        assert agg["judge"]["agreement"]["n"] == len(judged_ok)
    else:
        assert "judge_score" not in agg["metrics"]
    await rt.aclose()
