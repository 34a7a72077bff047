"""Scoring one answer against one dataset item, and aggregating a run's results."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from promptyard.evals.metrics import (
    abstention_correct,
    check_citations,
    citation_validity,
    contains_all,
    detect_abstention,
    exact_match,
    json_schema_valid,
    matches_regex,
    strip_citations,
    token_f1,
)
from promptyard.evals.model import DatasetItem, ItemResult, ModelAnswer
from promptyard.evals.retrieval import item_retrieval_metrics

#: Metrics where a higher value is better, in report order. Retrieval metrics follow.
ANSWER_METRICS = (
    "exact_match",
    "f1",
    "contains",
    "regex",
    "json_valid",
    "citations_valid",
    "abstention_correct",
    "abstained",
)


class Scorer(BaseModel):
    """How to score: retrieval cut-offs and the prompt's declared output schema."""

    ks: list[int] = Field(default_factory=lambda: [5, 10])
    output_schema: dict[str, Any] | None = None
    """The prompt's ``output.json_schema``: checked on every item when set."""

    def score(self, item: DatasetItem, answer: ModelAnswer) -> tuple[dict[str, float | None], dict[str, Any]]:
        """Metrics for one item, and the extras the report shows (citations, retrieved ids)."""
        text = answer.text
        # RAG answers carry [doc_id] markers: they are not part of the answer being matched.
        matched = strip_citations(text) if answer.context_doc_ids is not None else text
        abstained = answer.abstained if answer.abstained is not None else detect_abstention(text)
        should_abstain = item.checks.should_abstain
        if should_abstain is None and item.expected:
            should_abstain = False
        citations = check_citations(text, answer.citations, answer.context_doc_ids)
        schema = item.checks.json_schema or self.output_schema
        metrics: dict[str, float | None] = {
            "exact_match": exact_match(matched, item.expected),
            "f1": token_f1(matched, item.expected),
            "contains": contains_all(text, item.checks.contains),
            "regex": matches_regex(text, item.checks.regex),
            "json_valid": json_schema_valid(text, schema, answer.parsed),
            "citations_valid": citation_validity(citations),
            "abstention_correct": abstention_correct(abstained, should_abstain),
            "abstained": float(abstained),
        }
        metrics.update(item_retrieval_metrics(item.expected_doc_ids, answer.retrieved_doc_ids, self.ks))
        extra: dict[str, Any] = {
            "citations": [c.model_dump() for c in citations],
            "abstained": abstained,
            "should_abstain": should_abstain,
            "flags": answer.flags,
        }
        if answer.retrieved_doc_ids is not None:
            extra["retrieved_doc_ids"] = answer.retrieved_doc_ids[:20]
        if answer.parsed is not None:
            extra["parsed"] = answer.parsed
        if answer.provider or answer.model:
            extra["model"] = f"{answer.provider or '?'}/{answer.model or '?'}"
        return metrics, extra


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def aggregate(results: Sequence[ItemResult]) -> dict[str, Any]:
    """Means of every metric over the items it applies to, counts, cost, tokens and latency."""
    ok = [r for r in results if r.status == "ok"]
    metrics: dict[str, dict[str, float | int]] = {}
    names: list[str] = []
    for r in ok:
        for name in r.metrics:
            if name not in names:
                names.append(name)
    for name in names:
        values = [v for r in ok if (v := r.metrics.get(name)) is not None]
        if values:
            metrics[name] = {"mean": statistics.fmean(values), "n": len(values)}
    judged = [r.judge for r in ok if r.judge is not None]
    scores = [j.score for j in judged if j.status == "ok" and j.score is not None]
    if scores:
        metrics["judge_score"] = {"mean": statistics.fmean(scores), "n": len(scores)}
    latencies = [r.latency_ms for r in ok if not r.cache_hit] or [r.latency_ms for r in ok]
    return {
        "items": len(results),
        "ok": len(ok),
        "errors": sum(r.status == "error" for r in results),
        "skipped": sum(r.status == "skipped" for r in results),
        "judge_failures": sum(j.status == "failed" for j in judged),
        "judged": len(judged),
        "metrics": metrics,
        "cost_usd": sum(r.cost_usd for r in results),
        "input_tokens": sum(r.input_tokens for r in results),
        "output_tokens": sum(r.output_tokens for r in results),
        "cache_hits": sum(r.cache_hit for r in ok),
        "latency_ms": {
            "mean": statistics.fmean(latencies) if latencies else 0.0,
            "p50": _percentile(latencies, 0.5),
            "p95": _percentile(latencies, 0.95),
        },
    }


def primary_metric(aggregates: dict[str, Any]) -> str | None:
    """The metric a comparison gates on by default: F1, then recall@5, judge, json, contains, regex."""
    available = aggregates.get("metrics", {})
    for name in ("f1", "recall@5", "judge_score", "json_valid", "contains", "regex", "abstention_correct"):
        if name in available:
            return name
    return None
