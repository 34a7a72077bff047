"""``promptyard guard check TEXT`` (or ``--file PATH``): the same check as ``POST /v1/guards/check``.

Exits 0 when no guard triggered, 1 when one did (so it can gate a CI step), 2 on bad usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from promptyard.cli.common import cli_errors, console, fail
from promptyard.guards.base import GuardSpec
from promptyard.guards.check import DEFAULT_INPUT, CheckRequest, check_text

guard_app = typer.Typer(help="Check text with the guards (injection, PII, topics, canary).", no_args_is_help=True)


@guard_app.command("check")
@cli_errors
def check(
    text: Annotated[str | None, typer.Argument(help="The text to check.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the text from a file.")] = None,
    guard: Annotated[list[str] | None, typer.Option("--guard", "-g", help="Input guard to run (repeat).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    if (text is None) == (file is None):
        raise fail("give the text or --file, not both", code=2)
    body = file.read_text(encoding="utf-8") if file is not None else str(text)
    names = guard or DEFAULT_INPUT
    result = check_text(CheckRequest(text=body, input=[GuardSpec(name=n) for n in names]))
    if as_json:
        console.print_json(result.model_dump_json())
    else:
        table = Table("guard", "result", "score", "spans", "reason")
        for v in result.verdicts:
            spans = ", ".join(f"{s.label} {s.start}-{s.end}" for s in v.spans[:6])
            outcome = "error" if v.error else ("triggered" if v.triggered else "pass")
            table.add_row(v.guard, outcome, f"{v.score:.3f}", spans,
                          v.error or v.reason)  # fmt: skip
        console.print(table)
        if result.redacted is not None:
            console.print(f"redacted: {result.redacted}", highlight=False, soft_wrap=True)
    if result.triggered:
        raise typer.Exit(1)
