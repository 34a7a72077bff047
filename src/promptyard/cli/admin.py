"""``promptyard db``, ``promptyard keys`` and ``promptyard serve``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from promptyard.cli.common import cli_errors, console, handled, runtime

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (stored hashed; shown once).", no_args_is_help=True)


@db_app.command("upgrade")
@cli_errors
def db_upgrade() -> None:
    """Apply every pending migration to the configured database (PROMPTYARD_DATABASE_URL)."""
    from promptyard.store.db import current_revision

    rt = runtime()
    db = rt.db
    console.print(f"database at revision [bold]{current_revision(db.engine)}[/] ({db.dialect})")


@keys_app.command("create")
@cli_errors
def keys_create(
    name: Annotated[str, typer.Option("--name", "-n", help="Who or what the key is for.")] = "default",
    role: Annotated[
        str, typer.Option("--role", "-r", help="admin (labels, keys), app (render, run) or viewer (read).")
    ] = "app",
) -> None:
    """Create an API key and print it once."""
    created = runtime().keys.create(name, role)
    console.print(f"created {created.key.role} key [bold]{created.key.key_id}[/] for {name!r}")
    console.print(created.secret, highlight=False, soft_wrap=True)


@keys_app.command("list")
@cli_errors
def keys_list() -> None:
    """List API keys (never their secrets)."""
    table = Table("key id", "name", "role", "created", "revoked")
    for key in runtime().keys.list():
        table.add_row(key.key_id, key.name, key.role, f"{key.created_at:%Y-%m-%d %H:%M}", f"{key.revoked_at or ''}")
    console.print(table)


@keys_app.command("revoke")
@cli_errors
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id shown by 'keys list'.")]) -> None:
    """Revoke an API key."""
    key = runtime().keys.revoke(key_id)
    console.print(f"revoked {key.key_id} ({key.name})")


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default PROMPTYARD_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PROMPTYARD_PORT).")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Start the HTTP server (API, OpenAI-compatible /v1, dashboards)."""
    import uvicorn

    from promptyard.providers.local import preflight
    from promptyard.server.protocol import IMPORT_STRING as HTTP_PROTOCOL
    from promptyard.settings import get_settings

    with handled():
        settings = get_settings()
        with console.status("checking the local model runtime ..."):
            preflight(settings)
    uvicorn.run(
        "promptyard.server.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level,
        access_log=False,
        http=HTTP_PROTOCOL,
    )
