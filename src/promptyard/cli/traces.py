"""``promptyard traces``: show, grep, list, replay and purge request traces."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Annotated, Any

import typer
from rich.columns import Columns
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from promptyard.cli.common import cli_errors, console, err_console, runtime
from promptyard.errors import InvalidInput
from promptyard.experiments.feedback import Feedback
from promptyard.runtime import Runtime
from promptyard.tracing.files import trace_dir
from promptyard.tracing.model import Trace
from promptyard.tracing.reader import TraceReader

app = typer.Typer(help="Request traces: find, read, replay and purge them.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _reader(rt: Runtime) -> TraceReader:
    return TraceReader(trace_dir(rt.settings.home))


def _warn_skipped(reader: TraceReader) -> None:
    for bad in reader.skipped[:20]:
        err_console.print(
            f"[yellow]warning:[/] skipped corrupt line {bad.path}:{bad.line} ({bad.error})", soft_wrap=True
        )
    if len(reader.skipped) > 20:
        err_console.print(f"[yellow]warning:[/] … and {len(reader.skipped) - 20} more corrupt lines")


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} {value!r} is not a date", hint="use YYYY-MM-DD") from None


def _money(v: float) -> str:
    return f"${v:.6f}" if v else "$0"


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:,.1f} ms"


def _trace_panels(t: Trace) -> list[Panel]:
    head = Table.grid(padding=(0, 2))
    rows: list[tuple[str, Any]] = [
        ("status", t.status + (f" ({t.error_type}: {t.error_message})" if t.error_type else "")),
        ("time", f"{t.timestamp:%Y-%m-%d %H:%M:%S} UTC · {t.kind} · project {t.project}"),
        ("prompt", f"{t.prompt_name}@{t.prompt_version}" + (f" (label {t.prompt_label})" if t.prompt_label else "")),
        ("model", f"{t.provider}/{t.model}" + (f" · fallback {t.fallback_used}" if t.fallback_used else "")),
        ("tokens", f"{t.input_tokens} in / {t.output_tokens} out · cache read {t.cache_read_tokens}"),
        (
            "cost",
            f"{_money(t.cost_usd)} · saved {_money(t.cost_saved_usd)}"
            + (" · answer cache hit" if t.answer_cache_hit else ""),
        ),
        (
            "latency",
            f"total {_ms(t.latency.total_ms)} · first token {_ms(t.latency.ttft_ms)}"
            f" · generate {_ms(t.latency.generate_ms)}",
        ),
    ]
    if t.corpus:
        rows.append(("retrieval", f"corpus {t.corpus} v{t.corpus_version} · transform {t.transform or 'none'}"))
        rows.append(("chunks", ", ".join(t.context_chunk_ids) or "–"))
    if t.parent_id:
        rows.append(("parent", t.parent_id))
    if t.experiment:
        rows.append(("experiment", f"{t.experiment} · arm {t.experiment_arm} · unit {t.experiment_unit or '(random)'}"))
    for label, value in rows:
        head.add_row(f"[bold]{label}[/]", str(value))
    panels = [Panel(head, title=f"trace {t.trace_id}", title_align="left")]
    if t.inputs:
        panels.append(Panel(json.dumps(t.inputs, indent=2, ensure_ascii=False), title="inputs", title_align="left"))
    panels.append(
        Panel(t.answer if t.answer is not None else "[dim](no answer)[/]", title="answer", title_align="left")
    )
    return panels


@app.command("show")
@cli_errors
def show(
    trace_id: Annotated[str, typer.Argument(help="The trace id (from a response or 'traces grep').")],
    as_json: AsJson = False,
) -> None:
    """Print one trace in full, with the feedback it received."""
    rt = runtime()
    reader = _reader(rt)
    trace = reader.find(trace_id)
    _warn_skipped(reader)
    feedback = rt.experiments.feedback(trace.trace_id)
    scores = rt.experiments.scores(trace.trace_id)
    if as_json:
        data = trace.model_dump(mode="json") | {"feedback": [f.model_dump(mode="json") for f in feedback]}
        data["online_scores"] = scores
        console.print_json(json.dumps(data))
        return
    for panel in _trace_panels(trace):
        console.print(panel)
    if scores:
        line = " · ".join(f"{name} {value:.2f}" for name, value in sorted(scores.items()))
        console.print(Panel(escape(line), title="online scores", title_align="left"))
    if feedback:
        console.print(Panel("\n".join(_feedback_line(f) for f in feedback), title="feedback", title_align="left"))


def _feedback_line(f: Feedback) -> str:
    parts = [f"{f.at:%Y-%m-%d %H:%M:%S}"]
    if f.thumbs:
        parts.append(f"thumbs {f.thumbs}")
    if f.rating is not None:
        parts.append(f"rating {f.rating:g}/5")
    if f.signals:
        parts.append("signals " + ", ".join(f.signals))
    if f.comment:
        parts.append(repr(f.comment))
    return escape(" · ".join(parts))


@app.command("grep")
@cli_errors
def grep(
    text: Annotated[str, typer.Argument(help="Text to look for anywhere in the trace (case-insensitive).")],
    since: Annotated[str | None, typer.Option(help="First UTC day to search, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Last UTC day to search, YYYY-MM-DD.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many traces, newest first.")] = 50,
    as_json: AsJson = False,
) -> None:
    """Find traces whose record contains TEXT, newest first."""
    reader = _reader(runtime())
    found = reader.grep(text, since=_date(since, "--since"), until=_date(until, "--until"), limit=limit)
    _warn_skipped(reader)
    if as_json:
        console.print_json(json.dumps([t.model_dump(mode="json") for t in found]))
        return
    table = Table("trace id", "time (UTC)", "status", "prompt", "model", "cost", "latency", "answer")
    for t in found:
        answer = (t.answer or t.error_message or "").replace("\n", " ")
        table.add_row(
            t.trace_id,
            f"{t.timestamp:%Y-%m-%d %H:%M:%S}",
            t.status,
            f"{t.prompt_name or '–'}@{t.prompt_version or ''}".rstrip("@"),
            t.model or "–",
            _money(t.cost_usd),
            _ms(t.latency.total_ms),
            answer[:60],
        )
    console.print(table)
    console.print(f"{len(found)} trace(s)" + (" (limit reached)" if len(found) >= limit else ""))


@app.command("replay")
@cli_errors
def replay_cmd(
    trace_id: Annotated[str, typer.Argument(help="The trace to run again.")],
    as_json: AsJson = False,
) -> None:
    """Re-run the pipeline (same prompt version, config, retrieval); show old and new answers side by side."""
    from promptyard.tracing.replay import replay

    rt = runtime()
    reader = _reader(rt)
    trace = reader.find(trace_id)
    _warn_skipped(reader)
    gateway = rt.gateway
    rag = rag_replayer(rt) if trace.kind == "rag" else None

    async def go() -> Any:
        try:
            return await replay(trace, gateway, rag)
        finally:
            await rt.aclose()

    with console.status("replaying…"):
        result = asyncio.run(go())
    if as_json:
        console.print_json(json.dumps(_replay_json(result)))
        return
    old = Panel(
        trace.answer if trace.answer is not None else f"[red]{trace.error_type}: {trace.error_message}[/]",
        title=f"original {trace.trace_id} · {trace.model}",
        title_align="left",
    )
    new_text = result.new_answer if result.new_error is None else f"[red]{result.new_error}[/]"
    new = Panel(
        new_text or "", title=f"replay {result.new_trace_id or '–'} · {result.new_model or ''}", title_align="left"
    )
    console.print(Columns([old, new], equal=True, expand=True))
    console.print("answers: " + ("[green]identical[/]" if result.same_answer else "[yellow]different[/]"))
    if result.same_chunks is not None:
        verdict = "[green]same chunk ids[/]" if result.same_chunks else "[yellow]different chunk ids[/]"
        console.print(f"retrieval: {verdict}")
        if not result.same_chunks:
            console.print(f"  original: {', '.join(result.original_chunk_ids)}")
            console.print(f"  replay:   {', '.join(result.new_chunk_ids or [])}")


def rag_replayer(rt: Runtime) -> Any:
    """A RAG replayer on ``rt.rag``; a label-pinned prompt resolves to the version its sub-call used."""
    from promptyard.tracing.queries import children
    from promptyard.tracing.rag_replay import RagReplayer

    def version_of(trace: Trace) -> str | None:
        if trace.prompt_version:
            return trace.prompt_version
        for sub in children(rt.db, trace.trace_id):
            if sub.kind == "prompt" and sub.prompt_name == trace.prompt_name and sub.prompt_version:
                return sub.prompt_version
        return None

    return RagReplayer(rt.rag, rt.gateway, version_of=version_of)


def _replay_json(result: Any) -> dict[str, Any]:
    out: dict[str, Any] = result.model_dump(mode="json", exclude={"original"})
    out |= {
        "original_trace_id": result.original.trace_id,
        "original_answer": result.original.answer,
        "same_answer": result.same_answer,
        "same_chunks": result.same_chunks,
    }
    return out


@app.command("list")
@cli_errors
def list_cmd(
    since: Annotated[str | None, typer.Option(help="First UTC day, YYYY-MM-DD.")] = None,
    prompt: Annotated[str | None, typer.Option(help="Only this prompt.")] = None,
    model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    status: Annotated[str | None, typer.Option(help="ok, error or cancelled.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Rows, newest first.")] = 30,
) -> None:
    """List recent trace summaries from the database."""
    from promptyard.tracing.queries import TraceFilter, list_traces

    if status not in (None, "ok", "error", "cancelled"):
        raise InvalidInput(f"unknown status {status!r}", hint="ok, error or cancelled")
    f = TraceFilter(since=_date(since, "--since"), prompt=prompt, model=model, status=status, limit=limit)
    rows = list_traces(runtime().db, f)
    table = Table("trace id", "time (UTC)", "status", "kind", "prompt", "model", "tokens", "cost", "latency")
    for r in rows:
        table.add_row(
            r.trace_id,
            f"{r.ts:%Y-%m-%d %H:%M:%S}",
            r.status,
            r.kind,
            r.prompt_name or "–",
            r.model or "–",
            f"{r.input_tokens}/{r.output_tokens}",
            _money(r.cost_usd),
            _ms(r.total_ms),
        )
    console.print(table)


@app.command("purge")
@cli_errors
def purge_cmd(
    days: Annotated[
        int | None, typer.Option(min=0, help="Keep this many days (default PROMPTYARD_TRACE_RETENTION_DAYS).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would be deleted.")] = False,
) -> None:
    """Delete trace files and database rows older than the retention period."""
    from promptyard.tracing.retention import purge

    rt = runtime()
    keep = rt.settings.trace_retention_days if days is None else days
    result = purge(trace_dir(rt.settings.home), rt.db, keep, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    console.print(f"keeping {keep} days (from {result.cutoff} on, UTC)")
    console.print(
        f"{verb} {len(result.files)} file(s)" + (": " + ", ".join(p.name for p in result.files) if result.files else "")
    )
    for table, n in result.rows.items():
        console.print(f"{verb} {n} row(s) from {table}")
