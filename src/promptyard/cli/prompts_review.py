"""``promptyard prompts review``: the optional review flow (draft -> in_review -> approved -> released)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from promptyard.cli.common import cli_errors, console, runtime
from promptyard.prompts.review import ReviewAction

review_app = typer.Typer(
    help="Optional review flow: draft -> in_review -> approved (by someone other than the author) -> released. "
    "With PROMPTYARD_REQUIRE_REVIEW=true, protected labels (PROMPTYARD_PROTECTED_LABELS) "
    "only accept approved versions.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="Prompt name.")]
VersionArg = Annotated[str, typer.Argument(help="Version to act on.")]
CommentOpt = Annotated[str | None, typer.Option("--comment", "-m", help="Note kept in the history.")]


def _act(name: str, version: str, action: ReviewAction, comment: str | None) -> None:
    rt = runtime()
    event = rt.registry.review(name, version, action, actor=rt.settings.resolved_actor, comment=comment)
    console.print(
        f"{name}@{version}: {event.from_status} → [bold]{event.to_status}[/] ({action} by {escape(event.actor)})"
    )


@review_app.command("submit")
@cli_errors
def submit(name: NameArg, version: VersionArg, comment: CommentOpt = None) -> None:
    """Ask for review: draft -> in_review."""
    _act(name, version, "submit", comment)


@review_app.command("approve")
@cli_errors
def approve(name: NameArg, version: VersionArg, comment: CommentOpt = None) -> None:
    """Approve: in_review -> approved. Refused when you are the author (set PROMPTYARD_ACTOR)."""
    _act(name, version, "approve", comment)


@review_app.command("reject")
@cli_errors
def reject(name: NameArg, version: VersionArg, comment: CommentOpt = None) -> None:
    """Request changes: in_review -> draft."""
    _act(name, version, "reject", comment)


@review_app.command("release")
@cli_errors
def release(
    name: NameArg,
    version: VersionArg,
    label: Annotated[str, typer.Option("--label", "-l", help="Label to point at the version.")] = "production",
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept in the audit log).")] = None,
) -> None:
    """Release an approved version: point the label at it and mark it released."""
    rt = runtime()
    move = rt.registry.release(name, version, actor=rt.settings.resolved_actor, label=label, reason=reason)
    before = move.from_version or "(new)"
    console.print(
        f"[bold]{name}:{label}[/] {before} → [bold green]{move.to_version}[/] (released by {escape(move.actor)})"
    )
