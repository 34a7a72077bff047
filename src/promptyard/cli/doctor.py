"""``promptyard doctor``: is everything a user needs in working order? One line per part."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from promptyard.cli.common import console, handled
from promptyard.doctor import CheckResult, Status, run_checks
from promptyard.settings import load_settings

MARKS: dict[Status, str] = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[bold red]✗[/]", "skip": "[dim]-[/]"}


def _line(result: CheckResult) -> str:
    line = f"{MARKS[result.status]} {result.name:<12} {escape(result.detail)}"
    if result.fix and result.status in {"fail", "warn"}:
        line += f"\n  [bold]fix:[/] {escape(result.fix)}"
    return line


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON lines.")] = False,
) -> None:
    """Check the CPU, the local model runtime, database, Redis, embedder and prompts; exit 1 if any fails."""
    with handled():
        settings = load_settings()
    failed = False
    checks = run_checks(settings)
    while True:
        with console.status("checking ...", spinner="dots"):
            result = next(checks, None)
        if result is None:
            break
        failed = failed or result.status == "fail"
        if as_json:
            print(result.model_dump_json())
        else:
            console.print(_line(result), highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
