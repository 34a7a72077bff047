"""LLM-as-judge: a versioned rubric prompt scores an answer from 1 to 5 with a reason.

The judge call is injected (a function from the rubric's variables to the judge model's
raw text or parsed JSON), so any model can judge: the local one by default. An answer
that does not parse as ``{"score": 1-5, "reason": "..."}`` (or a judge call that fails)
becomes a judge *failure* for that item: recorded with its error and the raw text, left
out of the judge mean, counted in the report. Never a crash, never a silent zero.

:func:`agreement` compares judge scores with human labels: exact agreement, agreement
within one point, Spearman's rank correlation (scipy) and Cohen's kappa (unweighted and
quadratic-weighted).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel

from promptyard.errors import PromptyardError
from promptyard.evals.model import DatasetItem, ItemResult, JudgeVerdict

DEFAULT_JUDGE_PROMPT = "judge_answer@1.0.0"

#: Variables in, the judge model's output out: a string, or an already parsed JSON value.
JudgeCallFn = Callable[[dict[str, Any]], Awaitable[Any]]

_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def judge_variables(item: DatasetItem, answer: str) -> dict[str, Any]:
    """The rubric's variables: the question, the reference answer(s) and the answer to grade."""
    question = item.inputs.get("question") or item.inputs.get("query")
    if not isinstance(question, str):
        question = json.dumps(item.inputs, ensure_ascii=False, sort_keys=True)
    reference = " | ".join(item.expected) if item.expected else "(no reference answer)"
    return {"question": question, "reference": reference, "answer": answer}


def parse_verdict(output: Any) -> JudgeVerdict:
    """Turn the judge's output into a verdict; anything malformed is a failed verdict."""
    raw = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, default=str)
    value: Any = output
    if isinstance(output, str):
        match = _OBJECT.search(output)
        if match is None:
            return JudgeVerdict(status="failed", error="no JSON object in the judge's answer", raw=raw)
        try:
            value = json.loads(match.group(0))
        except json.JSONDecodeError as exc:
            return JudgeVerdict(status="failed", error=f"judge answer is not valid JSON: {exc.msg}", raw=raw)
    if not isinstance(value, dict):
        return JudgeVerdict(status="failed", error="judge answer is not a JSON object", raw=raw)
    score = value.get("score")
    if isinstance(score, str) and score.strip().isdigit():
        score = int(score.strip())
    if isinstance(score, float) and score.is_integer():
        score = int(score)
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        return JudgeVerdict(status="failed", error=f"score must be an integer from 1 to 5, got {score!r}", raw=raw)
    reason = value.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        return JudgeVerdict(status="failed", error="the judge gave no reason", raw=raw)
    return JudgeVerdict(status="ok", score=score, reason=reason.strip(), raw=raw)


class Judge:
    """Scores answers with an injected judge call. ``name`` is the rubric ``name@version``."""

    def __init__(self, call: JudgeCallFn, *, name: str = DEFAULT_JUDGE_PROMPT) -> None:
        self._call = call
        self.name = name

    async def judge(self, item: DatasetItem, answer: str) -> JudgeVerdict:
        try:
            output = await self._call(judge_variables(item, answer))
        except PromptyardError as exc:
            raw = getattr(exc, "output", None)
            return JudgeVerdict(status="failed", error=f"judge call failed: {exc}", raw=raw)
        return parse_verdict(output)


class Agreement(BaseModel):
    """How well the judge agrees with human labels on the items that have both."""

    n: int
    exact: float
    within_one: float
    spearman: float | None
    """``None`` when either side is constant (the correlation is undefined)."""
    spearman_p: float | None
    kappa: float | None
    """Cohen's kappa, unweighted; ``None`` when undefined (both sides one constant label)."""
    kappa_quadratic: float | None
    """Cohen's kappa with quadratic weights (ordinal scores: near misses count partly)."""
    mean_judge: float
    mean_human: float


def cohen_kappa(
    a: Sequence[int], b: Sequence[int], *, weights: str | None = None, labels: Sequence[int] = (1, 2, 3, 4, 5)
) -> float | None:
    """Cohen's kappa between two raters over ``labels``; ``weights`` None, ``"linear"`` or ``"quadratic"``."""
    index = {label: i for i, label in enumerate(labels)}
    k = len(labels)
    observed = np.zeros((k, k))
    for x, y in zip(a, b, strict=True):
        observed[index[x], index[y]] += 1
    total = observed.sum()
    if total == 0:
        return None
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / total
    grid = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(float)
    if weights is None:
        w = (grid > 0).astype(float)
    elif weights == "linear":
        w = grid
    elif weights == "quadratic":
        w = grid**2
    else:
        raise ValueError(f"unknown weights {weights!r}")
    denominator = float((w * expected).sum())
    if denominator == 0:
        return None
    return 1.0 - float((w * observed).sum()) / denominator


def agreement(pairs: Sequence[tuple[int, int]]) -> Agreement | None:
    """Agreement of ``(judge, human)`` score pairs; ``None`` without any pair."""
    if not pairs:
        return None
    from scipy.stats import spearmanr

    judge = np.array([p[0] for p in pairs], dtype=float)
    human = np.array([p[1] for p in pairs], dtype=float)
    diff = np.abs(judge - human)
    spearman: float | None = None
    p_value: float | None = None
    if len(pairs) >= 2 and judge.std() > 0 and human.std() > 0:
        res = spearmanr(judge, human)
        spearman, p_value = float(res.statistic), float(res.pvalue)
    js = [p[0] for p in pairs]
    hs = [p[1] for p in pairs]
    return Agreement(
        n=len(pairs),
        exact=float((diff == 0).mean()),
        within_one=float((diff <= 1).mean()),
        spearman=spearman,
        spearman_p=p_value,
        kappa=cohen_kappa(js, hs),
        kappa_quadratic=cohen_kappa(js, hs, weights="quadratic"),
        mean_judge=float(judge.mean()),
        mean_human=float(human.mean()),
    )


def judge_summary(name: str, results: Sequence[ItemResult], items: Sequence[DatasetItem]) -> dict[str, Any]:
    """The judge part of a run's aggregates: rubric, failures and agreement with human labels."""
    human = {i.item_id: i.human_score for i in items if i.human_score is not None}
    pairs = [
        (r.judge.score, human[r.item_id])
        for r in results
        if r.judge is not None and r.judge.score is not None and r.item_id in human
    ]
    agreed = agreement(pairs)
    failures = [
        {"item_id": r.item_id, "error": r.judge.error}
        for r in results
        if r.judge is not None and r.judge.status == "failed"
    ]
    return {
        "prompt": name,
        "failures": len(failures),
        "failed_items": failures[:50],
        "labelled": len(human),
        "agreement": agreed.model_dump() if agreed else None,
    }
