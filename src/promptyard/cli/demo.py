"""``promptyard demo`` (what ``make run`` calls): set up a local demo and serve it.

Steps, each safe to re-run: upgrade the database, sync ``prompts/``, set the demo labels
(only those not set yet), ingest the demo corpus, reuse or create a local admin key
(kept in ``<PROMPTYARD_HOME>/demo-admin-key``), print the URLs and a ready-to-paste
``curl``, then serve.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from promptyard.cli.common import cli_errors, console
from promptyard.errors import AuthError
from promptyard.prompts.records import PromptSummary
from promptyard.runtime import Runtime

DEMO_ACTOR = "demo"
RENDER_BODY = '{"label": "production", "variables": {"email_body": "Hi, can you send the Q3 report by Friday?"}}'
KEY_FILE = "demo-admin-key"
DEMO_CORPUS = "docs"

#: Explicit demo pins. Every other prompt with exactly one version gets ``production`` on it.
DEMO_PINS: dict[str, dict[str, str]] = {
    "summarize_email": {"production": "1.0.0", "staging": "1.1.0"},
    "rag_answer": {"production": "1.2.0"},
}


def demo_labels(prompts: list[PromptSummary]) -> list[tuple[str, str, str]]:
    """``(name, label, version)`` moves still to make: pinned labels not set yet, nothing else."""
    moves: list[tuple[str, str, str]] = []
    for p in prompts:
        wanted = DEMO_PINS.get(p.name)
        if wanted is None:
            wanted = {"production": p.versions[0]} if len(p.versions) == 1 else {}
        for label, version in wanted.items():
            if label not in p.labels and version in p.versions:
                moves.append((p.name, label, version))
    return moves


def demo_admin_key(rt: Runtime) -> tuple[str, bool]:
    """The demo admin key and whether it was created now. Reuses the saved key while it is valid."""
    path = rt.settings.home / KEY_FILE
    if path.is_file():
        saved = path.read_text(encoding="utf-8").strip()
        try:
            if rt.keys.verify(saved).role == "admin":
                return saved, False
        except AuthError:
            pass  # revoked, or the database was reset: make a new one
    created = rt.keys.create("demo-admin", "admin")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(created.secret + "\n")
    return created.secret, True


def ingest_demo_corpus(rt: Runtime) -> str | None:
    """HOOK for the RAG domain: ingest the demo corpus so ``rag_answer`` has documents.

    Returns a one-line summary to print, or None while RAG is not wired in yet.
    """
    # RAG-HOOK: the project's own docs/ and README.md become corpus "docs" (unchanged files are skipped).
    from promptyard.cli.rag import run_ingest

    paths = [p for p in (Path("docs"), Path("README.md")) if p.exists()]
    if not paths:
        return None
    report = run_ingest(rt, paths, DEMO_CORPUS)
    for failure in report.failed:
        console.print(f"[yellow]![/] skipped {failure.path}: {failure.error}", highlight=False)
    info = report.corpus_info
    size = f"{info.documents} documents, {info.chunks} chunks" if info else ""
    return (
        f"corpus {DEMO_CORPUS!r} v{report.version} ({size}): "
        f'try  promptyard ask "How do I ingest documents?" --corpus {DEMO_CORPUS}'
    )


def setup(rt: Runtime, prompts_dir: Path) -> str:
    """Everything before serving; returns the admin key."""
    from promptyard.store.db import current_revision

    with console.status("upgrading the database ..."):
        revision = current_revision(rt.db.engine)
    console.print(f"[green]✓[/] database {rt.db.dialect} at revision {revision}")

    with console.status(f"syncing {prompts_dir} ..."):
        report = rt.registry.sync(prompts_dir, actor=DEMO_ACTOR)
    console.print(f"[green]✓[/] prompts: {len(report.added)} added, {len(report.unchanged)} unchanged")

    for name, label, version in demo_labels(rt.registry.list_prompts()):
        rt.registry.set_label(name, label, version, actor=DEMO_ACTOR, reason="demo setup")
        console.print(f"[green]✓[/] label {name}:{label} → {version}")

    summary = ingest_demo_corpus(rt)
    if summary:
        console.print(f"[green]✓[/] {summary}")

    key, created = demo_admin_key(rt)
    where = rt.settings.home / KEY_FILE
    console.print(f"[green]✓[/] admin key {'created' if created else 'reused'} (saved in {where})")
    return key


def print_banner(key: str, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    console.print()
    console.print(f"  API      {base}/v1", highlight=False)
    console.print(f"  docs     {base}/docs", highlight=False)
    console.print(f"  health   {base}/healthz", highlight=False)
    console.print(f"  admin key {key}", highlight=False, soft_wrap=True)
    console.print()
    console.print("  list the prompts:", highlight=False)
    console.print(f'  curl -s -H "Authorization: Bearer {key}" {base}/v1/prompts', highlight=False, soft_wrap=True)
    console.print()
    console.print("  render the production summarize_email prompt:", highlight=False)
    console.print(
        f'  curl -s -X POST -H "Authorization: Bearer {key}" -H "Content-Type: application/json" '
        f"-d '{RENDER_BODY}' {base}/v1/prompts/summarize_email/render",
        highlight=False,
        soft_wrap=True,
    )
    console.print()


@cli_errors
def demo(
    host: Annotated[str | None, typer.Option(help="Bind address (default PROMPTYARD_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PROMPTYARD_PORT).")] = None,
    prompts_dir: Annotated[
        Path | None, typer.Option("--prompts-dir", help="Prompt files to sync (default PROMPTYARD_PROMPTS_DIR).")
    ] = None,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the server after the set-up.")] = True,
) -> None:
    """Set up the local demo (database, prompts, labels, admin key), print the URLs and a curl, and serve."""
    rt = Runtime()
    settings = rt.settings
    if serve:
        from promptyard.providers.local import preflight

        with console.status("checking the local model runtime ..."):
            preflight(settings)
    key = setup(rt, prompts_dir or settings.prompts_dir)
    bind_host, bind_port = host or settings.host, port or settings.port
    print_banner(key, bind_host, bind_port)
    if not serve:
        return
    import uvicorn

    from promptyard.server.app import create_app
    from promptyard.server.protocol import IMPORT_STRING as HTTP_PROTOCOL

    uvicorn.run(
        create_app(rt),
        host=bind_host,
        port=bind_port,
        log_level=settings.log_level,
        access_log=False,
        http=HTTP_PROTOCOL,
    )
