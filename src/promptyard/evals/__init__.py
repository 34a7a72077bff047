"""Evaluation: versioned datasets, answer and retrieval metrics, LLM-as-judge, resumable runs,
version-against-version comparison with a CI gate, and batch runs.

The service is ``Runtime().evals`` (:class:`promptyard.evals.service.Evals`); the runner
(:class:`promptyard.evals.runner.EvalRunner`) takes any async ``call(item) -> ModelAnswer``.
See ``docs/evals.md``.
"""

from promptyard.evals.compare import Comparison, compare_results, latest_delta, paired_bootstrap_ci
from promptyard.evals.datasets import InvalidDataset, read_dataset_file
from promptyard.evals.judge import Agreement, Judge, agreement, parse_verdict
from promptyard.evals.model import (
    CallFn,
    DatasetItem,
    ItemResult,
    JudgeVerdict,
    ModelAnswer,
    RunConfig,
    RunInfo,
)
from promptyard.evals.runner import EvalRunner, RunOutcome
from promptyard.evals.scoring import Scorer, aggregate
from promptyard.evals.service import EvalOptions, Evals

__all__ = [
    "Agreement",
    "CallFn",
    "Comparison",
    "DatasetItem",
    "EvalOptions",
    "EvalRunner",
    "Evals",
    "InvalidDataset",
    "ItemResult",
    "Judge",
    "JudgeVerdict",
    "ModelAnswer",
    "RunConfig",
    "RunInfo",
    "RunOutcome",
    "Scorer",
    "aggregate",
    "agreement",
    "compare_results",
    "latest_delta",
    "paired_bootstrap_ci",
    "parse_verdict",
    "read_dataset_file",
]
