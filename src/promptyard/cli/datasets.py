"""``promptyard datasets``: add, list, show, and build a dataset from production traces.

Thin: every command calls :class:`~promptyard.evals.dataset_store.DatasetStore`
(``runtime().evals.datasets``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from promptyard.cli.common import cli_errors, console, err_console, fail, runtime
from promptyard.errors import InvalidInput

datasets_app = typer.Typer(
    help="Eval datasets: versioned JSONL/CSV rows with inputs and expectations.", no_args_is_help=True
)


# ---- datasets --------------------------------------------------------------------------
@datasets_app.command("add")
@cli_errors
def datasets_add(
    name: Annotated[str, typer.Argument(help="Dataset name (lower-case, digits, '-', '_', '.').")],
    path: Annotated[Path, typer.Argument(help="A .jsonl or .csv file.")],
) -> None:
    """Store a dataset file as a new version (only if its content changed).

    Row fields: id, inputs (or flat columns), expected (answers), expected_doc_ids (gold_doc_id), tags.

    Optional checks: contains, regex, json_schema, should_abstain; human_score (1-5) for judge agreement.
    """
    rt = runtime()
    added = rt.evals.datasets.add_file(name, path, actor=rt.settings.resolved_actor)
    d = added.dataset
    if added.created:
        console.print(f"[green]added[/] [bold]{d.ref}[/]: {d.item_count} rows (sha256 {d.content_hash[:12]})")
    else:
        console.print(f"unchanged: identical content is already [bold]{d.ref}[/]")


@datasets_app.command("list")
@cli_errors
def datasets_list() -> None:
    """List datasets (latest version of each)."""
    datasets = runtime().evals.datasets.list_datasets()
    if not datasets:
        console.print("no datasets yet: add one with [bold]promptyard datasets add NAME FILE[/]")
        return
    table = Table("dataset", "version", "rows", "sha256", "added", "by", "source")
    for d in datasets:
        table.add_row(
            f"[bold]{d.name}[/]",
            str(d.version),
            str(d.item_count),
            d.content_hash[:12],
            f"{d.created_at:%Y-%m-%d %H:%M}",
            d.created_by,
            d.source or "",
        )
    console.print(table)


@datasets_app.command("show")
@cli_errors
def datasets_show(
    ref: Annotated[str, typer.Argument(help="NAME (latest) or NAME@VERSION.")],
    rows: Annotated[int, typer.Option("--rows", min=0, help="How many rows to print.")] = 5,
) -> None:
    """Show a dataset's versions and its first rows."""
    store = runtime().evals.datasets
    info, items = store.items(ref)
    versions = Table("version", "rows", "sha256", "added", "by", title=info.name)
    for v in store.versions(info.name):
        versions.add_row(
            str(v.version), str(v.item_count), v.content_hash[:12], f"{v.created_at:%Y-%m-%d %H:%M}", v.created_by
        )
    console.print(versions)
    sample = Table("id", "line", "inputs", "expected", "doc ids", "tags", title=f"{info.ref}: first {rows} rows")
    for item in items[:rows]:
        sample.add_row(
            item.item_id,
            str(item.line),
            ", ".join(f"{k}={str(v)[:40]!r}" for k, v in item.inputs.items()),
            " | ".join(e[:40] for e in item.expected[:3]),
            ", ".join(item.expected_doc_ids[:3]),
            ", ".join(item.tags),
        )
    console.print(sample)


@datasets_app.command("from-traces")
@cli_errors
def datasets_from_traces(
    prompt: Annotated[str, typer.Option("--prompt", help="Prompt name (optionally NAME@VERSION).")],
    since: Annotated[str, typer.Option("--since", help="First day to read, YYYY-MM-DD (UTC).")],
    name: Annotated[str | None, typer.Option("--name", help="Dataset name (default: <prompt>-traces).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most N rows.")] = None,
    feedback: Annotated[
        Literal["negative"] | None,
        typer.Option("--feedback", help="Only traces whose latest feedback is negative (thumbs down, retried...)."),
    ] = None,
) -> None:
    """Turn production traces of a prompt into a dataset (answers become reference answers)."""
    from promptyard.evals.from_traces import items_from_traces
    from promptyard.tracing.files import trace_dir
    from promptyard.tracing.reader import TraceReader

    try:
        day = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"--since {since!r} is not a date", hint="use YYYY-MM-DD") from None
    prompt_name, _, version = prompt.partition("@")
    rt = runtime()
    reader = TraceReader(trace_dir(rt.settings.home))
    negative = rt.experiments.feedback_store.negative_trace_ids() if feedback == "negative" else None
    selection = items_from_traces(
        reader.iter_days(since=day.date()),
        prompt=prompt_name,
        since=day,
        version=version or None,
        limit=limit,
        negative=negative,
    )
    for reason, count in sorted(selection.skipped.items()):
        err_console.print(f"[yellow]skipped[/] {count} trace(s): {reason}")
    if reader.skipped:
        err_console.print(f"[yellow]warning:[/] {len(reader.skipped)} corrupt trace line(s) skipped")
    if not selection.items:
        raise fail(f"no usable traces of {prompt_name!r} since {since} ({selection.considered} considered)")
    dataset = name or f"{prompt_name.replace('_', '-')}-traces"
    added = rt.evals.datasets.add_items(
        dataset,
        selection.items,
        actor=rt.settings.resolved_actor,
        source=f"traces:{prompt}:since={since}" + (":feedback=negative" if negative is not None else ""),
    )
    verb = "added" if added.created else "unchanged"
    console.print(
        f"{verb} [bold]{added.dataset.ref}[/]: {added.dataset.item_count} rows from {selection.considered} traces"
    )
