"""What every CLI command shares: the runtime, consoles, and turning errors into exit codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from promptyard.errors import PromptyardError
from promptyard.runtime import Runtime

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def runtime() -> Runtime:
    return Runtime()


def fail(message: str, *, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def handled() -> Iterator[None]:
    """Print a PromptyardError as a clean message (with every problem) and exit non-zero."""
    try:
        yield
    except PromptyardError as exc:
        problems = [str(p) for p in getattr(exc, "problems", None) or []]
        head = exc.message
        joined = "; ".join(problems)
        if problems and head.endswith(joined) and len(head) > len(joined):
            head = head[: -len(joined)].rstrip(": ")  # the problems are listed one per line below
        # Messages quote user text (templates, "[system]" markers): never read them as rich markup.
        err_console.print(f"[bold red]error:[/] {escape(head)}", highlight=False, soft_wrap=True)
        for problem in problems:
            err_console.print(f"  - {escape(problem)}", highlight=False, soft_wrap=True)
        if exc.hint:
            err_console.print(f"  hint: {escape(exc.hint)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def cli_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of :func:`handled`."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with handled():
            return fn(*args, **kwargs)

    return wrapper
