"""Batch cost estimates and output files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptyard.costs.prices import PriceTable
from promptyard.evals.batch import estimate_cost, estimate_tokens, write_output
from promptyard.evals.model import DatasetItem, ItemResult
from promptyard.prompts.model import MessageBlock, ModelConfig, PromptSpec, VariableSpec

SPEC = PromptSpec(
    name="summ",
    version="1.0.0",
    model=ModelConfig(provider="openai", model="gpt-test", max_tokens=100),
    variables={"text": VariableSpec(type="string")},
    blocks=[MessageBlock(role="system", template="Summarize."), MessageBlock(role="user", template="{{ text }}")],
)
PRICES = PriceTable.from_dict({"providers": {"openai": {"models": {"gpt-test": {"input": 2.0, "output": 8.0}}}}})


def test_estimate_uses_rendered_length_and_max_tokens() -> None:
    items = [DatasetItem(item_id=str(i), inputs={"text": "x" * 390}) for i in range(10)]
    per_row = estimate_tokens(SPEC, items[0])
    assert per_row == 100  # ("Summarize." + 390 chars) / 4
    estimate = estimate_cost(SPEC, items, prices=PRICES)
    assert estimate.priced
    assert (estimate.input_tokens, estimate.output_tokens) == (1000, 1000)
    assert estimate.cost_usd == pytest.approx((1000 * 2.0 + 1000 * 8.0) / 1e6)
    other = SPEC.model_copy(update={"model": ModelConfig(provider="openai", model="unknown-model")})
    unpriced = estimate_cost(other, items, prices=PRICES)
    assert not unpriced.priced
    assert unpriced.cost_usd == 0.0


def test_estimate_survives_rows_that_do_not_render() -> None:
    bad = DatasetItem(item_id="b", inputs={"other": 1})
    assert estimate_tokens(SPEC, bad) > 0


def test_output_keeps_input_order_and_marks_missing_rows(tmp_path: Path) -> None:
    items = [DatasetItem(item_id=f"r{i}", line=i + 1, inputs={"text": "t"}) for i in range(3)]
    results = [
        ItemResult(item_id="r2", position=2, status="ok", output="two", extra={"parsed": {"k": 2}}),
        ItemResult(item_id="r0", position=0, status="error", error="ProviderTimeout: slow"),
    ]
    path = tmp_path / "out" / "o.jsonl"
    assert write_output(path, items, results) == 3
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["id"], r["status"]) for r in lines] == [("r0", "error"), ("r1", "missing"), ("r2", "ok")]
    assert lines[2]["parsed"] == {"k": 2}
    assert lines[0]["error"] == "ProviderTimeout: slow"
