"""The Markdown scoreboard of a run (``reports/<run-id>.md``) and of a comparison."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promptyard.evals.compare import Comparison
from promptyard.evals.model import DatasetItem, ItemResult, RunInfo
from promptyard.evals.scoring import ANSWER_METRICS

WORST_ITEMS = 10


def _cell(text: object, width: int = 80) -> str:
    value = " ".join(str(text).split()).replace("|", "\\|")
    return value if len(value) <= width else value[: width - 1] + "…"


def metric_order(names: Sequence[str]) -> list[str]:
    """Answer metrics first (fixed order), then retrieval metrics sorted, then judge."""
    known = [m for m in ANSWER_METRICS if m in names]
    retrieval = sorted(m for m in names if m not in ANSWER_METRICS and m != "judge_score")
    tail = ["judge_score"] if "judge_score" in names else []
    return known + retrieval + tail


def render_report(run: RunInfo, results: Sequence[ItemResult], items: Sequence[DatasetItem]) -> str:
    agg: dict[str, Any] = run.aggregates or {}
    lines = [
        f"# Eval run `{run.run_id}`",
        "",
        f"- prompt: **{run.prompt_ref}**",
        f"- dataset: **{run.dataset_ref or '-'}**",
        f"- target: {run.config.target}" + (f" (corpus {run.config.corpus})" if run.config.corpus else ""),
        f"- status: {run.status}; started {run.created_at:%Y-%m-%d %H:%M:%S} UTC"
        + (f", finished {run.finished_at:%Y-%m-%d %H:%M:%S} UTC" if run.finished_at else ""),
        f"- items: {agg.get('items', len(results))} (ok {agg.get('ok', 0)}, errors {agg.get('errors', 0)}, "
        f"skipped {agg.get('skipped', 0)})",
        "",
        "## Scores",
        "",
        "| metric | mean | items |",
        "|---|---:|---:|",
    ]
    metrics: dict[str, dict[str, float]] = agg.get("metrics", {})
    for name in metric_order(list(metrics)):
        lines.append(f"| {name} | {metrics[name]['mean']:.4f} | {int(metrics[name]['n'])} |")
    latency = agg.get("latency_ms", {})
    lines += [
        "",
        "## Cost and latency",
        "",
        "| total cost (USD) | input tokens | output tokens | cache hits | latency mean (ms) | p50 (ms) | p95 (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {agg.get('cost_usd', 0.0):.6f} | {agg.get('input_tokens', 0)} | {agg.get('output_tokens', 0)} | "
        f"{agg.get('cache_hits', 0)} | {latency.get('mean', 0.0):.1f} | {latency.get('p50', 0.0):.1f} | "
        f"{latency.get('p95', 0.0):.1f} |",
    ]
    judge = agg.get("judge")
    if judge:
        lines += ["", "## Judge", "", f"- rubric: `{judge['prompt']}`", f"- judge failures: {judge['failures']}"]
        agreed = judge.get("agreement")
        if agreed:
            lines += [
                f"- agreement with {agreed['n']} human labels: exact {agreed['exact']:.2f}, "
                f"within one {agreed['within_one']:.2f}, Spearman {_num(agreed['spearman'])}, "
                f"Cohen's kappa {_num(agreed['kappa'])} (quadratic {_num(agreed['kappa_quadratic'])})",
            ]
        for failure in judge.get("failed_items", [])[:WORST_ITEMS]:
            lines.append(f"  - `{failure['item_id']}`: {_cell(failure['error'])}")
    by_id = {i.item_id: i for i in items}
    errors = [r for r in results if r.status != "ok"]
    if errors:
        lines += ["", "## Errors and skipped rows", "", "| item | line | status | error |", "|---|---:|---|---|"]
        for r in errors[:50]:
            item = by_id.get(r.item_id)
            lines.append(f"| {_cell(r.item_id, 40)} | {item.line if item else ''} | {r.status} | {_cell(r.error)} |")
    key = next((m for m in ("f1", "judge_score", "recall@5", "contains", "json_valid") if m in metrics), None)
    if key is not None:
        best = 5.0 if key == "judge_score" else 1.0
        scored = [r for r in results if r.status == "ok" and (_score(r, key) or 0.0) < best]
        worst = sorted(scored, key=lambda r: (_score(r, key) or 0.0, r.position))[:WORST_ITEMS]
        lines += ["", f"## Lowest {key}", ""]
        if not worst:
            lines.append(f"Every scored item has the best {key}.")
        else:
            lines += [f"| item | {key} | expected | output |", "|---|---:|---|---|"]
        for r in worst:
            item = by_id.get(r.item_id)
            expected = " / ".join(item.expected[:3]) if item else ""
            lines.append(
                f"| {_cell(r.item_id, 40)} | {_score(r, key) or 0.0:.3f} | {_cell(expected, 50)} | "
                f"{_cell(r.output or '', 80)} |"
            )
    return "\n".join(lines) + "\n"


def _score(result: ItemResult, key: str) -> float | None:
    if key == "judge_score":
        return float(result.judge.score) if result.judge and result.judge.score is not None else None
    return result.metrics.get(key)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def write_report(path: Path, run: RunInfo, results: Sequence[ItemResult], items: Sequence[DatasetItem]) -> Path:
    """Write the scoreboard atomically (temp file, then rename)."""
    write_text_atomic(path, render_report(run, results, items))
    return path


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def render_comparison(c: Comparison) -> str:
    """The comparison as Markdown: for a pull-request comment next to the prompt diff."""
    verdict = "REGRESSION" if c.regressed else "ok"
    lines = [
        f"# {c.prompt_b} vs {c.prompt_a} on {c.dataset}: {verdict}",
        "",
        f"Primary metric **{c.primary}**, allowed drop {c.threshold}. Runs `{c.run_a}` → `{c.run_b}`.",
        "",
        f"| metric | n | {c.prompt_a} | {c.prompt_b} | delta | 95% CI |",
        "|---|---:|---:|---:|---:|---|",
    ]
    order = metric_order([m.metric for m in c.metrics])
    for m in sorted(c.metrics, key=lambda m: order.index(m.metric)):
        name = f"**{m.metric}**" if m.metric == c.primary else m.metric
        lines.append(
            f"| {name} | {m.n} | {m.a:.4f} | {m.b:.4f} | {m.delta:+.4f} | [{m.ci_low:+.4f}, {m.ci_high:+.4f}] |"
        )
    lines += [
        "",
        f"- {c.primary}: {c.wins} wins, {c.losses} losses, {c.ties} ties",
        f"- errors: {c.errors_a} → {c.errors_b}",
        f"- cost: ${c.cost_a:.6f} → ${c.cost_b:.6f}; mean latency {c.latency_a_ms:.0f} → {c.latency_b_ms:.0f} ms",
    ]
    if c.biggest_losses:
        lines += ["", "Biggest losses:", ""]
        lines += [f"- `{x.item_id}`: {x.a:.3f} → {x.b:.3f}" for x in c.biggest_losses]
    return "\n".join(lines) + "\n"
