"""``promptyard canary ...``: gradual releases with automatic rollback (the server's controller advances them)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from promptyard.cli.common import cli_errors, console, runtime
from promptyard.experiments.canary import CanarySpec, CanaryThresholds
from promptyard.experiments.model import Unit, parse_duration

app = typer.Typer(help="Canary releases: widen step by step while metrics hold, roll back by themselves.")


@app.command("start")
@cli_errors
def start(
    prompt: Annotated[str, typer.Argument(help="Prompt name.")],
    to: Annotated[str, typer.Option("--to", help="The new version.")],
    label: Annotated[str, typer.Option("--label")] = "production",
    steps: Annotated[str, typer.Option("--steps", help="Percentages on the new version.")] = "5,25,50,100",
    hold: Annotated[str, typer.Option("--hold", help="Least time per step: 90s, 15m, 2h.")] = "15m",
    unit: Annotated[Unit, typer.Option("--unit")] = "user",
    name: Annotated[str | None, typer.Option("--name", help="Default: canary-PROMPT-VERSION-TIME.")] = None,
    max_error_increase: Annotated[float, typer.Option(help="Error rate above the baseline (absolute).")] = 0.05,
    max_latency_ratio: Annotated[float, typer.Option(help="p95 latency vs the baseline.")] = 1.5,
    max_cost_ratio: Annotated[float, typer.Option(help="Cost per call vs the baseline.")] = 1.5,
    quality: Annotated[str, typer.Option(help="feedback.thumbs_up or score.<evaluator>.")] = "feedback.thumbs_up",
    max_quality_drop: Annotated[float, typer.Option(help="Quality below the baseline (absolute).")] = 0.1,
    min_samples: Annotated[int, typer.Option(min=1, help="Canary calls per step before judging.")] = 20,
) -> None:
    """Start moving LABEL of PROMPT to --to through --steps; the server's controller advances it."""
    try:
        percents = [float(s) for s in steps.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter(f"--steps {steps!r}: write percentages like 5,25,50,100") from None
    spec = CanarySpec(
        prompt=prompt,
        label=label,
        to=to,
        steps=percents,
        hold_s=parse_duration(hold),
        unit=unit,
        name=name,
        thresholds=CanaryThresholds(
            max_error_rate_increase=max_error_increase,
            max_p95_latency_ratio=max_latency_ratio,
            max_cost_ratio=max_cost_ratio,
            quality=quality,
            max_quality_drop=max_quality_drop,
            min_samples=min_samples,
        ),
    )
    rt = runtime()
    exp = rt.experiments.canaries.start(spec, actor=rt.settings.resolved_actor)
    console.print(
        f"canary [bold]{escape(exp.name)}[/]: {prompt}:{label} {100 * exp.weight_of(to):g}% on {to}; "
        f"steps {','.join(f'{s:g}' for s in spec.steps)}, hold {hold}. The server's controller advances it."
    )


@app.command("status")
@cli_errors
def status(
    name: Annotated[str, typer.Argument(help="Canary name, or a prompt (its latest canary).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The canary's step history and the current step's numbers against the baseline."""
    result = runtime().experiments.canaries.status(name)
    if as_json:
        console.print_json(result.model_dump_json())
        return
    state, exp = result.state, result.experiment
    console.print(
        f"canary {escape(exp.name)} ({exp.status}): {exp.prompt}:{exp.label} {state.baseline} -> {state.target}"
    )
    table = Table("step", "share", "started", "outcome", "canary calls", "baseline calls", "detail")
    for h in state.history:
        table.add_row(
            str(h.step + 1),
            f"{h.percent:g}%",
            f"{h.started_at:%Y-%m-%d %H:%M:%S}",
            h.outcome,
            str(h.canary_n),
            str(h.baseline_n),
            escape(h.detail),
        )
    console.print(table)
    ev = result.evaluation
    if ev is not None:
        console.print(
            f"now: canary {ev.canary.n} calls, errors {ev.canary.error_rate:.1%}, p95 {ev.canary.p95_ms:.0f} ms; "
            f"baseline {ev.baseline.n} calls, errors {ev.baseline.error_rate:.1%}, p95 {ev.baseline.p95_ms:.0f} ms"
            f" -> {ev.verdict}" + (f" ({'; '.join(ev.reasons)})" if ev.reasons else "")
        )
    if exp.end_reason:
        console.print(f"ended: {escape(exp.end_reason)}")


@app.command("stop")
@cli_errors
def stop(
    name: Annotated[str, typer.Argument(help="Canary name, or a prompt (its latest canary).")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Stop the canary: everyone is back on the baseline at once."""
    rt = runtime()
    exp = rt.experiments.canaries.stop(name, actor=rt.settings.resolved_actor, reason=reason)
    console.print(f"stopped canary {escape(exp.name)}: {exp.prompt}:{exp.label} back on its version")
