"""RAG commands: ``ingest``, ``ask`` and ``corpora list|delete``.

Thin: they call :class:`promptyard.rag.service.RagService`, the same object the HTTP API
uses. ``ingest`` shows a progress bar per stage (reading, chunking, embedding, writing)
and exits non-zero when any file could not be ingested.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from promptyard.cli.common import cli_errors, console, err_console, runtime
from promptyard.errors import InvalidInput
from promptyard.rag.ingest import IngestReport
from promptyard.rag.models import AnswerRequest, RagAnswer
from promptyard.runtime import Runtime

corpora_app = typer.Typer(help="List and delete RAG corpora.", no_args_is_help=True)


class BarProgress:
    """Ingest progress as rich bars, one per stage."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def stage(self, name: str, total: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total)
        self.task = self.progress.add_task(name, total=max(total, 1) if total else 1)
        if not total:
            self.progress.update(self.task, completed=1)

    def advance(self, n: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, n)


def print_report(report: IngestReport) -> None:
    for failure in report.failed:
        err_console.print(f"[red]✗[/] {failure.path}: {failure.error}", highlight=False, soft_wrap=True)
    info = report.corpus_info
    console.print(
        f"[green]✓[/] corpus [bold]{report.corpus}[/] version {report.version_before} → {report.version}: "
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.deleted)} deleted, "
        f"{report.unchanged} unchanged; {report.chunks_embedded} chunks embedded in {report.seconds:.1f}s"
        + (f" ({info.documents} documents, {info.chunks} chunks in total)" if info else ""),
        highlight=False,
    )
    if report.skipped:
        kinds = Counter(Path(p).suffix.lower() or "(none)" for p in report.skipped)
        listed = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        note = f"skipped {len(report.skipped)} file(s) in folders with no loader: {listed}"
        console.print(f"[dim]{note}[/]", highlight=False)
    if report.failed:
        err_console.print(f"[red]{len(report.failed)} file(s) failed[/]: fix or remove them and ingest again")


def run_ingest(
    rt: Runtime,
    paths: list[Path],
    corpus: str,
    *,
    chunk_tokens: int | None = None,
    chunk_overlap: float | None = None,
    replace: bool = False,
    show_progress: bool = True,
) -> IngestReport:
    columns = (TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False, disable=not show_progress) as progress:
        return rt.rag.ingest(
            paths, corpus, chunk_tokens=chunk_tokens, chunk_overlap=chunk_overlap, replace=replace,
            progress=BarProgress(progress),
        )  # fmt: skip


@cli_errors
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (.md .txt .html .pdf .jsonl).")],
    corpus: Annotated[str, typer.Option("--corpus", "-c", help="Corpus name (created on first ingest).")],
    chunk_tokens: Annotated[
        int | None, typer.Option(help="Chunk size in embedder tokens (default: the corpus's, else 300).")
    ] = None,
    chunk_overlap: Annotated[
        float | None, typer.Option(help="Overlap between chunks as a fraction (default: the corpus's, else 0.15).")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Remove every document not in PATHS (default: only those under PATHS).")
    ] = False,
) -> None:
    """Ingest files into a corpus: unchanged documents are skipped, changed ones re-embedded, deleted ones removed.

    Everything lands as one new corpus version, or not at all. Files that cannot be read are
    listed and skipped, and the command exits with status 1.

    Example: promptyard ingest docs README.md --corpus docs
    """
    rt = runtime()
    try:
        report = run_ingest(rt, paths, corpus, chunk_tokens=chunk_tokens, chunk_overlap=chunk_overlap, replace=replace)
    finally:
        asyncio.run(rt.aclose())
    print_report(report)
    if report.failed:
        raise typer.Exit(1)


def print_answer(out: RagAnswer) -> None:
    if out.answer is not None:
        console.print(out.answer, highlight=False, soft_wrap=True)
    if out.message:
        err_console.print(f"[yellow]{out.message}[/]", highlight=False)
    shown = out.citations if out.answer is not None and out.citations else out.sources
    if shown:
        console.print()
        console.print("[bold]Citations[/]" if shown is out.citations else "[bold]Sources[/]")
        for c in shown:
            console.print(f"  [{c.id}] {c.title} ({c.source})", highlight=False, markup=False, soft_wrap=True)
    footer = f"corpus {out.corpus} v{out.corpus_version}" + (f" · trace {out.trace_id}" if out.trace_id else "")
    if out.flags:
        footer += " · flags: " + ", ".join(out.flags)
    err_console.print(f"[dim]{footer}[/]", highlight=False)


@cli_errors
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    corpus: Annotated[str, typer.Option("--corpus", "-c", help="Corpus to answer from.")],
    k: Annotated[int, typer.Option("-k", help="Chunks to retrieve.")] = 8,
    transform: Annotated[str, typer.Option(help="Query transform: none, hyde, multi_query or decompose.")] = "none",
    prompt: Annotated[
        str | None, typer.Option(help="Answer prompt NAME@LABEL (default: rag_answer@production).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole response as JSON.")] = False,
) -> None:
    """Answer a question from a corpus, with checked [doc_id] citations.

    Example: promptyard ask "How do I ingest documents?" --corpus docs
    """
    try:
        req = AnswerRequest.model_validate(
            {"corpus": corpus, "question": question, "k": k, "transform": transform, "prompt": prompt}
        )
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise InvalidInput("invalid question: " + "; ".join(problems)) from None

    async def go() -> RagAnswer:
        rt = runtime()
        try:
            return await rt.rag.answer(req)
        finally:
            await rt.aclose()

    out = asyncio.run(go())
    if as_json:
        console.print_json(json.dumps(out.model_dump(mode="json")))
    else:
        print_answer(out)


@corpora_app.command("list")
@cli_errors
def list_corpora() -> None:
    """List corpora with their version, size and embedder."""
    rt = runtime()
    try:
        corpora = rt.rag.corpora()
    finally:
        asyncio.run(rt.aclose())
    if not corpora:
        console.print("no corpora yet: promptyard ingest PATH --corpus NAME")
        return
    table = Table("corpus", "version", "documents", "chunks", "tokens", "embedder", "updated")
    for c in corpora:
        updated = c.updated_at.strftime("%Y-%m-%d %H:%M") if c.updated_at else ""
        table.add_row(c.name, str(c.version), str(c.documents), str(c.chunks), str(c.tokens), c.embedder, updated)
    console.print(table)


@corpora_app.command("delete")
@cli_errors
def delete_corpus(
    name: Annotated[str, typer.Argument(help="Corpus to delete.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a corpus with all its documents, chunks and vectors."""
    if not yes:
        typer.confirm(f"delete corpus {name!r} and everything in it?", abort=True)
    rt = runtime()
    try:
        rt.rag.delete_corpus(name)
    finally:
        asyncio.run(rt.aclose())
    console.print(f"[green]✓[/] deleted corpus {name}")
