"""The ``promptyard`` command. Thin: every command calls the same functions as the API."""

from __future__ import annotations

import typer

from promptyard.cli import admin, canary, datasets, evals, experiments, rag, traces
from promptyard.cli.demo import demo
from promptyard.cli.doctor import doctor
from promptyard.cli.guard import guard_app
from promptyard.cli.prompts import prompts_app
from promptyard.cli.run import run_command

app = typer.Typer(
    name="promptyard",
    help="promptyard: versioned prompts, one gateway pipeline, RAG, traces and evals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.keys_app, name="keys")
app.command("serve")(admin.serve)
app.command("doctor")(doctor)
# Domain command groups: one line each.
app.add_typer(prompts_app, name="prompts")
app.command("demo")(demo)
app.command("run")(run_command)
app.add_typer(traces.app, name="traces")
app.add_typer(datasets.datasets_app, name="datasets")
app.add_typer(evals.eval_app, name="eval")
app.add_typer(evals.batch_app, name="batch")
app.command("ingest")(rag.ingest)
app.command("ask")(rag.ask)
app.add_typer(rag.corpora_app, name="corpora")
app.add_typer(experiments.app, name="experiments")
app.add_typer(canary.app, name="canary")
app.add_typer(guard_app, name="guard")

if __name__ == "__main__":  # pragma: no cover
    app()
