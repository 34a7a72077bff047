"""LLM-as-judge: verdict parsing, failures recorded (never a crash or a zero), agreement with humans."""

from __future__ import annotations

from typing import Any

import pytest
from scipy.stats import spearmanr

from promptyard.errors import OutputValidationError
from promptyard.evals.judge import Judge, agreement, cohen_kappa, judge_variables, parse_verdict
from promptyard.evals.model import DatasetItem


@pytest.mark.parametrize(
    ("output", "score"),
    [
        ('{"score": 4, "reason": "Right team, no score."}', 4),
        ('Sure! ```json\n{"score": "5", "reason": "Exact."}\n```', 5),
        ({"score": 2.0, "reason": "Mostly wrong."}, 2),
    ],
)
def test_well_formed_verdicts_parse(output: Any, score: int) -> None:
    verdict = parse_verdict(output)
    assert verdict.status == "ok"
    assert verdict.score == score
    assert verdict.reason


@pytest.mark.parametrize(
    ("output", "error"),
    [
        ("I think it is good.", "no JSON object"),
        ('{"score": 4, "reason": "unterminated}', "not valid JSON"),
        ('{"score": 7, "reason": "too high"}', "from 1 to 5"),
        ('{"score": 3.5, "reason": "half"}', "from 1 to 5"),
        ('{"score": true, "reason": "bool"}', "from 1 to 5"),
        ('{"score": 3}', "no reason"),
        (["not", "an", "object"], "not a JSON object"),
    ],
)
def test_malformed_verdicts_are_failures_not_zeros(output: Any, error: str) -> None:
    verdict = parse_verdict(output)
    assert verdict.status == "failed"
    assert verdict.score is None
    assert error in (verdict.error or "")
    assert verdict.raw  # what the judge said is kept for the report


async def test_judge_call_errors_become_failures() -> None:
    async def broken(variables: dict[str, Any]) -> Any:
        raise OutputValidationError("output invalid after retries", output="{score: five}")

    item = DatasetItem(item_id="q1", inputs={"question": "Who won?"}, expected=["Denver"])
    verdict = await Judge(broken).judge(item, "Denver")
    assert verdict.status == "failed"
    assert "judge call failed" in (verdict.error or "")
    assert verdict.raw == "{score: five}"


async def test_judge_gets_question_reference_and_answer() -> None:
    seen: list[dict[str, Any]] = []

    async def judge_call(variables: dict[str, Any]) -> Any:
        seen.append(variables)
        return '{"score": 5, "reason": "same answer"}'

    item = DatasetItem(item_id="q1", inputs={"question": "Who won?"}, expected=["Denver", "Broncos"])
    verdict = await Judge(judge_call).judge(item, "The Broncos")
    assert verdict.score == 5
    assert seen == [{"question": "Who won?", "reference": "Denver | Broncos", "answer": "The Broncos"}]
    other = judge_variables(DatasetItem(item_id="t", inputs={"ticket": "hi"}), "x")
    assert other["question"] == '{"ticket": "hi"}'
    assert other["reference"] == "(no reference answer)"


JUDGE = [5, 4, 4, 3, 1, 2, 5, 3, 2, 4]
HUMAN = [5, 5, 4, 3, 2, 1, 4, 3, 1, 4]


def test_agreement_against_scipy_and_sklearn() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    report = agreement(list(zip(JUDGE, HUMAN, strict=True)))
    assert report is not None
    assert report.n == 10
    assert report.exact == pytest.approx(5 / 10)
    assert report.within_one == pytest.approx(1.0)
    expected_rho = spearmanr(JUDGE, HUMAN).statistic
    assert report.spearman == pytest.approx(expected_rho)
    assert report.kappa == pytest.approx(sklearn_metrics.cohen_kappa_score(JUDGE, HUMAN))
    assert report.kappa_quadratic == pytest.approx(sklearn_metrics.cohen_kappa_score(JUDGE, HUMAN, weights="quadratic"))
    assert cohen_kappa(JUDGE, HUMAN, weights="linear") == pytest.approx(
        sklearn_metrics.cohen_kappa_score(JUDGE, HUMAN, weights="linear")
    )


def test_kappa_by_hand_and_degenerate_cases() -> None:
    # 2x2 example: po = 0.7, pe = 0.5*0.6 + 0.5*0.4 = 0.5 -> kappa 0.4.
    a = [1] * 5 + [2] * 5
    b = [1, 1, 1, 1, 2, 1, 1, 2, 2, 2]
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert agreement([]) is None
    constant = agreement([(3, 3), (3, 3)])
    assert constant is not None
    assert constant.exact == 1.0
    assert constant.spearman is None
    assert constant.kappa is None
