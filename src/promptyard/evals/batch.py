"""Batch runs: a prompt over every row of a file, written to an output JSONL file.

Shares the eval runner (bounded concurrency, progress, per-row commits and resume): a
batch is a run of kind ``batch`` without scoring. Before starting, :func:`estimate_cost`
prices the job from the rendered prompt length (about four characters per token) and the
prompt's ``max_tokens``, so the CLI can ask for confirmation above a threshold. The output
file is written when every row is done, in input order, atomically.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from promptyard.costs.prices import PriceTable, price_table
from promptyard.errors import PromptyardError
from promptyard.evals.model import DatasetItem, ItemResult
from promptyard.evals.report import write_text_atomic
from promptyard.evals.targets import prompt_variables
from promptyard.prompts.model import PromptSpec
from promptyard.providers.base import Usage

CHARS_PER_TOKEN = 4


class CostEstimate(BaseModel):
    rows: int
    input_tokens: int
    output_tokens: int
    """Upper bound: every row produces ``max_tokens``."""
    cost_usd: float
    provider: str
    model: str
    priced: bool
    """False when the price table has no entry for the model (the estimate is then 0)."""


def estimate_tokens(spec: PromptSpec, item: DatasetItem) -> int:
    """Input tokens of one row, from the rendered prompt's length."""
    from promptyard.prompts.render import render_prompt

    try:
        rendered = render_prompt(spec, prompt_variables(spec, item.inputs))
        chars = sum(len(m.content) for m in rendered.messages)
    except PromptyardError:
        chars = sum(len(b.template) for b in spec.blocks) + len(json.dumps(item.inputs, default=str))
    return math.ceil(chars / CHARS_PER_TOKEN)


def estimate_cost(spec: PromptSpec, items: Sequence[DatasetItem], *, prices: PriceTable | None = None) -> CostEstimate:
    if prices is None:
        from promptyard.settings import get_settings

        prices = price_table(get_settings().prices_file)
    table = prices
    provider, model = spec.model.provider, spec.model.model
    input_tokens = sum(estimate_tokens(spec, item) for item in items)
    output_tokens = spec.model.max_tokens * len(items)
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    return CostEstimate(
        rows=len(items),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=table.cost(provider, model, usage),
        provider=provider,
        model=model,
        priced=table.lookup(provider, model) is not None,
    )


def output_record(item: DatasetItem, result: ItemResult | None) -> dict[str, object]:
    record: dict[str, object] = {"id": item.item_id, "line": item.line}
    if result is None:
        record["status"] = "missing"
        return record
    record |= {
        "status": result.status,
        "output": result.output,
        "error": result.error,
        "cost_usd": result.cost_usd,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
        "latency_ms": round(result.latency_ms, 3),
        "cache_hit": result.cache_hit,
        "trace_id": result.trace_id,
    }
    if "parsed" in result.extra:
        record["parsed"] = result.extra["parsed"]
    return record


def write_output(path: Path, items: Sequence[DatasetItem], results: Sequence[ItemResult]) -> int:
    """Write one JSON line per input row, in input order. Returns the number of lines."""
    by_id = {r.item_id: r for r in results}
    lines = [json.dumps(output_record(item, by_id.get(item.item_id)), ensure_ascii=False) for item in items]
    write_text_atomic(path, "\n".join(lines) + "\n")
    return len(lines)
