"""``promptyard experiments ...``: A/B splits on a label. Thin: calls ``runtime.experiments``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from promptyard.cli.common import cli_errors, console, err_console, runtime
from promptyard.experiments.analysis import Analysis, MetricEstimate
from promptyard.experiments.model import ExperimentSpec, Unit, parse_arms

app = typer.Typer(help="A/B tests of prompt versions: sticky splits on a label, read-outs, promotion.")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


@app.command("start")
@cli_errors
def start(
    name: Annotated[str, typer.Argument(help="Experiment name (unique).")],
    prompt: Annotated[str, typer.Option("--prompt", help="Prompt name.")],
    arms: Annotated[str, typer.Option("--arms", help="VERSION=WEIGHT,...  e.g. 1.0.0=50,1.1.0=50")],
    label: Annotated[str, typer.Option("--label", help="The label to split.")] = "production",
    unit: Annotated[Unit, typer.Option("--unit", help="What assignment sticks to.")] = "user",
    primary: Annotated[str, typer.Option("--primary", help="Primary metric.")] = "feedback.thumbs_up",
    guardrail: Annotated[str, typer.Option("--guardrail", help="Comma-separated guardrail metrics.")] = (
        "error_rate,p95_latency,cost"
    ),
    min_samples: Annotated[int, typer.Option("--min-samples", min=0, help="Per arm, before a verdict.")] = 0,
) -> None:
    """Split LABEL of PROMPT across versions; each unit keeps its arm until the split ends."""
    spec = ExperimentSpec(
        name=name,
        prompt=prompt,
        label=label,
        arms=parse_arms(arms),
        unit=unit,
        primary=primary,
        guardrails=[g.strip() for g in guardrail.split(",") if g.strip()],
        min_samples=min_samples,
    )
    rt = runtime()
    exp = rt.experiments.start(spec, actor=rt.settings.resolved_actor)
    console.print(
        f"started [bold]{escape(exp.name)}[/] on {escape(exp.prompt)}:{escape(exp.label)}: "
        + ", ".join(f"{a.version} {100 * exp.weight_of(a.version):g}%" for a in exp.arms)
        + f" by {exp.unit}"
    )


@app.command("list")
@cli_errors
def list_experiments(prompt: Annotated[str | None, typer.Option("--prompt")] = None) -> None:
    """Every experiment and canary, oldest first."""
    table = Table("name", "kind", "prompt:label", "arms", "unit", "status", "started (UTC)")
    for exp in runtime().experiments.list_all(prompt=prompt):
        arms = ", ".join(f"{a.version}={100 * exp.weight_of(a.version):g}%" for a in exp.arms)
        table.add_row(
            exp.name,
            exp.kind,
            f"{exp.prompt}:{exp.label}",
            arms,
            exp.unit,
            exp.status,
            f"{exp.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@app.command("status")
@cli_errors
def status(
    name: Annotated[str, typer.Argument()],
    segment: Annotated[
        str | None, typer.Option("--segment", help="Break the primary metric down by a trace field.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Per-arm estimates with 95% intervals, differences, the always-valid p-value, SRM."""
    analysis = runtime().experiments.status(name, segment=segment)
    if as_json:
        console.print_json(analysis.model_dump_json())
        return
    print_analysis(analysis)


def _fmt(m: MetricEstimate) -> str:
    value = f"{m.mean:.4g} [{m.ci.low:.4g}, {m.ci.high:.4g}]"
    if m.p95 is not None:
        value += f" p95 {m.p95:.4g}"
    return f"{value} n={m.n}"


def print_analysis(a: Analysis) -> None:
    metrics = [m.metric for m in a.arms[0].metrics] if a.arms else []
    title = f"{'A/B test' if a.kind == 'ab' else 'canary'} {a.experiment} ({a.status})"
    table = Table("arm", "weight", "units", "traces", *metrics, title=title)
    for arm in a.arms:
        mark = " (baseline)" if arm.version == a.baseline else ""
        table.add_row(
            arm.version + mark,
            f"{100 * arm.weight:g}%",
            str(arm.units),
            str(arm.traces),
            *(_fmt(m) for m in arm.metrics),
        )
    console.print(table)
    diffs = Table("metric", "arm - baseline", "95% interval", "test", "p", "always-valid p", "")
    for d in a.diffs:
        seq = f"{d.sequential_p:.4f}" if d.sequential_p is not None else ""
        flag = "[red]worse[/]" if d.worse else ""
        ci = f"[{d.test.ci.low:+.4g}, {d.test.ci.high:+.4g}]"
        diffs.add_row(d.metric, f"{d.test.diff:+.4g}", ci, d.test.test, f"{d.test.p_value:.4f}", seq, flag)
    console.print(diffs)
    if a.srm.mismatch:
        err_console.print(
            f"[bold red]sample ratio mismatch[/]: observed {a.srm.observed}, expected "
            f"{[round(e) for e in a.srm.expected]} (p={a.srm.p_value:.2g}); the split or the logging is broken"
        )
    if a.winner:
        console.print(f"[green]significant[/] on {a.primary}: winner {a.winner} (always-valid p <= 0.05)")
    elif not a.enough_samples:
        console.print(f"not enough samples yet on {a.primary} (min per arm not reached)")
    else:
        console.print(f"no significant difference on {a.primary} yet")
    if a.segments:
        seg = Table(a.segment_field or "segment", *(arm.version for arm in a.arms), "diff", "p")
        for s in a.segments:
            diff = s.diff
            seg.add_row(
                s.value,
                *(_fmt(m) for m in s.arms),
                f"{diff.diff:+.4g}" if diff else "",
                f"{diff.p_value:.4f}" if diff else "",
            )
        console.print(seg)


@app.command("stop")
@cli_errors
def stop(
    name: Annotated[str, typer.Argument()], reason: Annotated[str | None, typer.Option("--reason")] = None
) -> None:
    """End the split: the label serves its own version to everyone again."""
    rt = runtime()
    exp = rt.experiments.stop(name, actor=rt.settings.resolved_actor, reason=reason)
    console.print(f"stopped {escape(exp.name)}: {exp.prompt}:{exp.label} is whole again")


@app.command("promote")
@cli_errors
def promote(
    name: Annotated[str, typer.Argument()],
    version: Annotated[str | None, typer.Option("--version", help="Default: the significant winner.")] = None,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Move the label to the winning arm (or --version) and end the split."""
    rt = runtime()
    move = rt.experiments.promote(name, version=version, actor=rt.settings.resolved_actor, reason=reason)
    console.print(f"promoted: {move.name}:{move.label} {move.from_version} -> {move.to_version}")


@app.command("plan")
@cli_errors
def plan(
    baseline: Annotated[float, typer.Option("--baseline", help="Current rate (0-1) or mean.")],
    effect: Annotated[float, typer.Option("--effect", help="Absolute difference to detect, e.g. 0.05.")],
    sd: Annotated[float | None, typer.Option("--sd", help="Standard deviation, for a mean metric.")] = None,
    alpha: Annotated[float, typer.Option("--alpha")] = 0.05,
    power: Annotated[float, typer.Option("--power")] = 0.8,
    as_json: AsJson = False,
) -> None:
    """How many samples per arm an effect needs (fixed horizon, and with the always-valid test)."""
    p = runtime().experiments.plan(baseline=baseline, effect=effect, alpha=alpha, power=power, sd=sd)
    if as_json:
        console.print_json(p.model_dump_json())
        return
    console.print(
        f"to detect {effect:+g} on {baseline:g} at alpha {alpha:g} with power {power:g}:\n"
        f"  {p.sequential_per_arm} per arm with the always-valid test (peek any time; what status decides on)\n"
        f"  {p.fixed_per_arm} per arm for a fixed-horizon test looked at once"
    )
