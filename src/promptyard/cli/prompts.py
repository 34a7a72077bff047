"""``promptyard prompts``: sync and export files, release with labels, roll back, render, diff, lint, review.

Thin: every command calls :class:`~promptyard.prompts.registry.PromptRegistry`, the same
object the HTTP API uses. The actor recorded for changes is ``PROMPTYARD_ACTOR`` (default:
the OS user).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from promptyard.cli.common import cli_errors, console, fail, runtime
from promptyard.cli.prompts_review import review_app
from promptyard.errors import InvalidInput, PromptNotFound
from promptyard.prompts.model import PromptSpec
from promptyard.prompts.records import LabelEvent, PromptVersion
from promptyard.prompts.refs import split_ref

prompts_app = typer.Typer(
    help="Versioned prompts: sync files, release with labels, roll back, render, diff, lint, review.",
    no_args_is_help=True,
)
prompts_app.add_typer(review_app, name="review")

DirArg = Annotated[
    Path | None, typer.Argument(help="Folder of <name>/<version> prompt files (default PROMPTYARD_PROMPTS_DIR).")
]


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}"


@prompts_app.command("list")
@cli_errors
def list_cmd() -> None:
    """List prompts with their versions and labels."""
    summaries = runtime().registry.list_prompts()
    if not summaries:
        console.print("no prompts yet: run [bold]promptyard prompts sync[/]")
        return
    table = Table("prompt", "versions", "labels", "description")
    for p in summaries:
        labels = ", ".join(f"{lab}→{ver}" for lab, ver in p.labels.items())
        table.add_row(f"[bold]{p.name}[/]", ", ".join(p.versions), labels, Text(p.description))
    console.print(table)


@prompts_app.command("show")
@cli_errors
def show(
    ref: Annotated[str, typer.Argument(help="NAME (versions and labels) or NAME@VERSION / NAME@LABEL (one version).")],
    source: Annotated[bool, typer.Option("--source/--no-source", help="Print the prompt file text.")] = True,
) -> None:
    """Show a prompt's versions and labels, or one version in full."""
    registry = runtime().registry
    name, version, label = split_ref(ref)
    if version is None and label is None:
        table = Table("version", "status", "sha256", "author", "synced", "changelog", title=name)
        for v in registry.versions(name):
            table.add_row(
                v.version, v.status, v.content_hash[:12], Text(v.author), _when(v.created_at), Text(v.changelog)
            )
        console.print(table)
        labels = registry.labels(name)
        if labels:
            lt = Table("label", "version", "moved by", "at")
            for info in labels:
                lt.add_row(info.label, info.version, Text(info.updated_by), _when(info.updated_at))
            console.print(lt)
        return
    pv = registry.lookup(name, version=version, label=label)
    _print_version(pv, registry.known_labels(name), source=source)


def _print_version(pv: PromptVersion, labels: dict[str, str], *, source: bool) -> None:
    spec = pv.spec
    here = [lab for lab, ver in labels.items() if ver == pv.version]
    lines = [
        f"[bold]{pv.ref}[/]  {escape(spec.description)}",
        f"status {pv.status} · sha256 {pv.content_hash[:12]} · synced by {escape(pv.author)} at {_when(pv.created_at)}",
        f"labels here: {', '.join(here) or '-'} · file: {escape(pv.source_path or '-')}",
        f"model {spec.model.provider}/{spec.model.model} · temperature {spec.model.temperature} · "
        f"max_tokens {spec.model.max_tokens} · response {spec.model.response_format}",
    ]
    if spec.changelog:
        lines.append(f"changelog: {escape(spec.changelog)}")
    console.print(Panel("\n".join(lines), expand=False))
    if spec.variables:
        vt = Table("variable", "type", "required", "default", "untrusted", "max_length", "description")
        for vname, var in spec.variables.items():
            vt.add_row(
                vname,
                var.type,
                "yes" if var.required else "no",
                Text("" if var.default is None else json.dumps(var.default, ensure_ascii=False)),
                "yes" if var.untrusted else "",
                "" if var.max_length is None else str(var.max_length),
                Text(var.description),
            )
        console.print(vt)
    if source:
        console.print(Syntax(pv.source, "yaml+jinja", line_numbers=True, word_wrap=True))


def _parse_vars(spec: PromptSpec, pairs: list[str], vars_file: Path | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if vars_file is not None:
        try:
            loaded = json.loads(vars_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"cannot read variables from {vars_file}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise InvalidInput(f"{vars_file} must hold a JSON object of variable -> value")
        values.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--var {pair!r} is not KEY=VALUE")
        declared = spec.variables.get(key)
        value: Any = raw
        if declared is not None and declared.type != "string":
            try:
                value = json.loads(raw)  # 3, true, [1, 2], {"a": 1}: typed as declared
            except json.JSONDecodeError:
                value = raw  # left as text; validation names the type problem
        values[key] = value
    return values


@prompts_app.command("render")
@cli_errors
def render(
    ref: Annotated[str | None, typer.Argument(help="NAME@VERSION or NAME@LABEL (there is no implicit latest).")] = None,
    var: Annotated[list[str] | None, typer.Option("--var", "-v", help="A variable as KEY=VALUE (repeatable).")] = None,
    vars_file: Annotated[
        Path | None, typer.Option("--vars-file", help="A JSON file with an object of variables.")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Render this prompt file instead of a synced version.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the messages and cache marks as JSON.")] = False,
) -> None:
    """Render a prompt with variables. A missing or invalid variable exits non-zero naming it."""
    from promptyard.prompts.render import render_prompt

    if file is not None:
        from promptyard.prompts.files import parse_prompt

        spec = parse_prompt(file.read_text(encoding="utf-8"), path=str(file))
    elif ref is None:
        raise fail("name a prompt: NAME@VERSION or NAME@LABEL, or --file PATH")
    else:
        spec = _resolve_ref(ref)
    rendered = render_prompt(spec, _parse_vars(spec, var or [], vars_file))
    if as_json:
        payload = {
            "name": spec.name,
            "version": spec.version,
            "messages": [m.model_dump() for m in rendered.messages],
            "cache_marks": [c.model_dump() for c in rendered.cache_marks],
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    marks = {c.index: c for c in rendered.cache_marks}
    console.print(f"[bold]{spec.ref}[/]")
    for i, message in enumerate(rendered.messages):
        if i in marks:
            console.print(Rule(f"cache breakpoint (ttl {marks[i].ttl}): messages above are the stable prefix"))
        console.print(Panel(Text(message.content), title=message.role, title_align="left"))
    if len(rendered.messages) in marks:
        console.print(Rule(f"cache breakpoint (ttl {marks[len(rendered.messages)].ttl})"))


def _resolve_ref(ref: str) -> PromptSpec:
    registry = runtime().registry
    name, version, label = split_ref(ref)
    if version is None and label is None:
        labels = registry.known_labels(name)
        versions = [v.version for v in registry.versions(name)]
        raise PromptNotFound(
            f"name a version or a label for {name!r}: there is no implicit latest",
            available=[f"{name}@{v}" for v in versions] + [f"{name}@{lab}" for lab in labels],
        )
    return registry.resolve(name, version=version, label=label)


@prompts_app.command("diff")
@cli_errors
def diff(
    name: Annotated[str, typer.Argument(help="Prompt name.")],
    a: Annotated[str, typer.Argument(help="Old side: a version (1.0.0) or a label (production).")],
    b: Annotated[str, typer.Argument(help="New side: a version or a label.")],
) -> None:
    """Diff two versions: template, model config and variables (added, removed, changed).

    When both versions have eval runs on the same dataset, the eval delta is shown too.
    """
    from promptyard.evals.compare import diff_eval_delta
    from promptyard.prompts.diff import diff_prompts, render_diff

    old, new = _version_of(name, a), _version_of(name, b)
    rows, note = diff_eval_delta(runtime().db, name, old.version, new.version)
    render_diff(diff_prompts(old.source, old.spec, new.source, new.spec, eval_delta=rows), console)
    if note:
        console.print(note, style="dim", highlight=False)


def _version_of(name: str, ref: str) -> PromptVersion:
    _, version, label = split_ref(f"{name}@{ref}")
    return runtime().registry.lookup(name, version=version, label=label)


@prompts_app.command("export")
@cli_errors
def export(
    name: Annotated[str, typer.Argument(help="Prompt name.")],
    ref: Annotated[str, typer.Argument(help="A version (1.1.1) or a label.")],
    directory: DirArg = None,
) -> None:
    """Write a stored version (e.g. a draft proposed in the browser) as a prompt file for a pull request.

    The file is the stored text byte for byte, so a later sync sees it as unchanged.
    """
    from promptyard.workspace.drafts import write_export

    rt = runtime()
    pv = _version_of(name, ref)
    path, written = write_export(directory or rt.settings.prompts_dir, pv.name, pv.version, pv.source)
    verb = "wrote" if written else "already there:"
    console.print(f"{verb} {path.as_posix()} ({pv.ref}, {pv.status})", highlight=False)


@prompts_app.command("sync")
@cli_errors
def sync(directory: DirArg = None) -> None:
    """Import prompt files as immutable versions. All or nothing; identical content is a no-op.

    A changed file under a version that is already synced is refused: bump its version.
    """
    rt = runtime()
    folder = directory or rt.settings.prompts_dir
    with console.status(f"syncing {folder} ..."):
        report = rt.registry.sync(folder, actor=rt.settings.resolved_actor)
    for ref in report.added:
        console.print(f"[green]+ added[/]     {ref}")
    for ref in report.unchanged:
        console.print(f"[dim]= unchanged {ref}[/]")
    verdict = "registry updated" if report.changed_anything else "nothing to do"
    console.print(f"{len(report.added)} added, {len(report.unchanged)} unchanged: {verdict}")


def _print_move(event: LabelEvent, changed: bool) -> None:
    if not changed:
        console.print(f"{event.name}:{event.label} already points at {event.to_version}; nothing changed")
        return
    console.print(
        f"[bold]{event.name}:{event.label}[/] {event.from_version or '(new)'} → [bold green]{event.to_version}[/]"
        f" ({event.action} by {escape(event.actor)})"
    )


@prompts_app.command("label")
@cli_errors
def label(
    name: Annotated[str, typer.Argument(help="Prompt name.")],
    label_name: Annotated[str, typer.Argument(metavar="LABEL", help="Label, e.g. production or staging.")],
    version: Annotated[str, typer.Argument(help="Version the label should point at.")],
    reason: Annotated[str | None, typer.Option("--reason", "-m", help="Why (kept in the audit log).")] = None,
) -> None:
    """Point a label at a version: the release. Recorded in the history."""
    rt = runtime()
    move = rt.registry.set_label(name, label_name, version, actor=rt.settings.resolved_actor, reason=reason)
    _print_move(move, move.changed)


@prompts_app.command("rollback")
@cli_errors
def rollback(
    name: Annotated[str, typer.Argument(help="Prompt name.")],
    label_name: Annotated[str, typer.Argument(metavar="LABEL", help="Label to move back.")],
    reason: Annotated[str | None, typer.Option("--reason", "-m", help="Why (kept in the audit log).")] = None,
) -> None:
    """Move a label back to the version it pointed at before its last move."""
    rt = runtime()
    move = rt.registry.rollback(name, label_name, actor=rt.settings.resolved_actor, reason=reason)
    _print_move(move, move.changed)


@prompts_app.command("history")
@cli_errors
def history(name: Annotated[str, typer.Argument(help="Prompt name.")]) -> None:
    """Label moves and review events, oldest first: who, when, from, to, why."""
    events = runtime().registry.history(name)
    if not events:
        console.print(f"{name}: no label moves or reviews yet")
        return
    table = Table("when (UTC)", "who", "event", "from", "to", "why", title=f"history of {name}")
    for ev in events:
        if isinstance(ev, LabelEvent):
            table.add_row(
                _when(ev.at),
                Text(ev.actor),
                f"{ev.action} {ev.label}",
                ev.from_version or "-",
                ev.to_version or "-",
                Text(ev.reason or ""),
            )
        else:
            table.add_row(
                _when(ev.at),
                Text(ev.actor),
                f"review {ev.version}",
                ev.from_status,
                ev.to_status,
                Text(ev.comment or ""),
            )
    console.print(table)


@prompts_app.command("lint")
@cli_errors
def lint(
    directory: DirArg = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit non-zero on warnings too.")] = False,
) -> None:
    """Check prompt files: variables before the cache breakpoint, declared vs used variables, broken templates.

    Exits 1 when a file fails to parse or has an error (or any warning with --strict).
    """
    from promptyard.prompts.files import scan
    from promptyard.prompts.lint import lint as lint_spec

    folder = directory or runtime().settings.prompts_dir
    if not folder.is_dir():
        raise fail(f"prompt directory not found: {folder}")
    files, broken = scan(folder)
    errors, warnings = len(broken), 0
    for exc in broken:
        console.print(f"[bold red]error[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    for f in files:
        for issue in lint_spec(f.spec, text=f.text):
            where = f"{f.path}:{issue.line}" if issue.line else str(f.path)
            colour = "red" if issue.severity == "error" else "yellow"
            console.print(
                f"[{colour}]{issue.severity}[/] {escape(where)}: {escape(issue.message)} [dim]({issue.code})[/]",
                highlight=False,
                soft_wrap=True,
            )
            errors += issue.severity == "error"
            warnings += issue.severity == "warning"
    console.print(f"{len(files) + len(broken)} files: {errors} errors, {warnings} warnings")
    if errors or (strict and warnings):
        raise typer.Exit(1)
