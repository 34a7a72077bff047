"""Compare two prompt versions: template body, model config, variable schema, output rules.

:func:`diff_prompts` accepts :class:`PromptFile` objects, ``(text, spec)`` pairs, or the
four values ``old_text, old_spec, new_text, new_spec`` as stored by the registry.
:func:`render_diff` prints the result with colours. An optional eval delta (metric by
metric, from a comparison run) is carried on the diff and shown under it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any, overload

from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from promptyard.prompts.files import PromptFile
from promptyard.prompts.frontmatter import split_front_matter
from promptyard.prompts.model import PromptSpec, VariableSpec

__all__ = ["EvalDeltaRow", "FieldChange", "PromptDiff", "VariableChanges", "diff_prompts", "render_diff"]

PromptSource = PromptFile | tuple[str, PromptSpec]
_HUNK_RE = re.compile(r"^@@ -(\d+)((?:,\d+)?) \+(\d+)((?:,\d+)?) @@")


class FieldChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: str
    """Dotted path, e.g. ``temperature`` or ``json_schema.properties.category.enum``."""
    old: Any = None
    new: Any = None


class VariableChanges(BaseModel):
    added: dict[str, VariableSpec] = Field(default_factory=dict)
    removed: dict[str, VariableSpec] = Field(default_factory=dict)
    changed: dict[str, list[FieldChange]] = Field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


class EvalDeltaRow(BaseModel):
    """One metric of an eval comparison between the two versions (filled in by the evals domain)."""

    model_config = ConfigDict(frozen=True)

    metric: str
    old: float | None = None
    new: float | None = None
    higher_is_better: bool = True

    @property
    def delta(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old


class PromptDiff(BaseModel):
    old_ref: str
    new_ref: str
    template: list[str] = Field(default_factory=list)
    """Unified diff of the body (hunk line numbers are lines of the files)."""
    model: list[FieldChange] = Field(default_factory=list)
    variables: VariableChanges = Field(default_factory=VariableChanges)
    output: list[FieldChange] = Field(default_factory=list)
    metadata: list[FieldChange] = Field(default_factory=list)
    """``name``, ``description``, ``tags``, ``changelog``."""
    eval_delta: list[EvalDeltaRow] = Field(default_factory=list)
    """Optional: metric deltas from an eval comparison of the two versions."""

    @property
    def changed(self) -> bool:
        return bool(self.template or self.model or self.output or self.metadata) or not self.variables.empty


def _field_changes(old: Any, new: Any, prefix: str = "") -> list[FieldChange]:
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[FieldChange] = []
        for key in list(old) + [k for k in new if k not in old]:
            path = f"{prefix}.{key}" if prefix else str(key)
            changes += _field_changes(old.get(key), new.get(key), path)
        return changes
    return [] if old == new else [FieldChange(field=prefix, old=old, new=new)]


def _body(text: str) -> tuple[list[str], int]:
    fm = split_front_matter(text)
    lines = list(fm.body_lines)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines, fm.body_start - 1


def _template_diff(old_text: str, new_text: str, old_ref: str, new_ref: str, context: int) -> list[str]:
    old_lines, old_offset = _body(old_text)
    new_lines, new_offset = _body(new_text)
    out: list[str] = []
    for line in difflib.unified_diff(old_lines, new_lines, old_ref, new_ref, n=context, lineterm=""):
        match = _HUNK_RE.match(line)
        if match:
            a, a_len, b, b_len = match.groups()
            rest = line[match.end() :]
            line = f"@@ -{int(a) + old_offset}{a_len} +{int(b) + new_offset}{b_len} @@{rest}"
        out.append(line)
    return out


def _variable_changes(old: PromptSpec, new: PromptSpec) -> VariableChanges:
    result = VariableChanges()
    for name, var in new.variables.items():
        if name not in old.variables:
            result.added[name] = var
        else:
            changes = _field_changes(old.variables[name].model_dump(), var.model_dump())
            if changes:
                result.changed[name] = changes
    for name, var in old.variables.items():
        if name not in new.variables:
            result.removed[name] = var
    return result


def _unpack(source: PromptSource) -> tuple[str, PromptSpec]:
    if isinstance(source, PromptFile):
        return source.text, source.spec
    return source


@overload
def diff_prompts(
    old: PromptSource, new: PromptSource, /, *, context: int = 3, eval_delta: Sequence[EvalDeltaRow] = ()
) -> PromptDiff: ...
@overload
def diff_prompts(
    old_text: str,
    old_spec: PromptSpec,
    new_text: str,
    new_spec: PromptSpec,
    /,
    *,
    context: int = 3,
    eval_delta: Sequence[EvalDeltaRow] = (),
) -> PromptDiff: ...
def diff_prompts(*args: Any, context: int = 3, eval_delta: Sequence[EvalDeltaRow] = ()) -> PromptDiff:
    """Diff two versions. ``context`` is the number of unchanged lines around each hunk."""
    if len(args) == 2:
        old_text, old_spec = _unpack(args[0])
        new_text, new_spec = _unpack(args[1])
    elif len(args) == 4:
        old_text, old_spec, new_text, new_spec = args
    else:
        raise TypeError("diff_prompts(old, new) or diff_prompts(old_text, old_spec, new_text, new_spec)")
    meta = ("name", "description", "tags", "changelog", "context")
    return PromptDiff(
        old_ref=old_spec.ref,
        new_ref=new_spec.ref,
        template=_template_diff(old_text, new_text, old_spec.ref, new_spec.ref, context),
        model=_field_changes(old_spec.model.model_dump(), new_spec.model.model_dump()),
        variables=_variable_changes(old_spec, new_spec),
        output=_field_changes(old_spec.output.model_dump(), new_spec.output.model_dump()),
        metadata=_field_changes(old_spec.model_dump(include=set(meta)), new_spec.model_dump(include=set(meta))),
        eval_delta=list(eval_delta),
    )


# -- terminal output -------------------------------------------------------------------------


def _show(value: Any) -> str:
    return "—" if value is None else repr(value) if isinstance(value, str) else str(value)


def _changes_table(title: str, changes: list[FieldChange]) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, expand=False)
    table.add_column("field")
    table.add_column("old", style="red")
    table.add_column("new", style="green")
    for change in changes:
        table.add_row(Text(change.field), Text(_show(change.old)), Text(_show(change.new)))
    return table


def _describe(var: VariableSpec) -> str:
    parts = [var.type, "required" if var.required and var.default is None else "optional"]
    if var.untrusted:
        parts.append("untrusted")
    if var.max_length is not None:
        parts.append(f"max_length={var.max_length}")
    return ", ".join(parts)


def _eval_table(rows: Sequence[EvalDeltaRow]) -> Table:
    table = Table(title="Eval delta", title_justify="left", show_edge=False)
    for column in ("metric", "old", "new", "delta"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for row in rows:
        delta = row.delta
        style = ""
        if delta is not None and delta != 0:
            style = "green" if (delta > 0) == row.higher_is_better else "red"
        table.add_row(
            Text(row.metric),
            "—" if row.old is None else f"{row.old:.3f}",
            "—" if row.new is None else f"{row.new:.3f}",
            Text("—" if delta is None else f"{delta:+.3f}", style=style),
        )
    return table


def render_diff(diff: PromptDiff, console: Console, *, eval_delta: Sequence[EvalDeltaRow] | None = None) -> None:
    """Print ``diff`` with colours. ``eval_delta`` (or ``diff.eval_delta``) adds a metric table."""
    console.print(Rule(Text(f"{diff.old_ref} → {diff.new_ref}", style="bold")))
    rows = list(eval_delta) if eval_delta is not None else diff.eval_delta
    if not diff.changed:
        console.print(Text("no differences", style="dim"))
    if diff.template:
        console.print(Text("Template", style="bold"))
        for line in diff.template:
            style = ""
            if line.startswith(("+++", "---")):
                style = "bold"
            elif line.startswith("@@"):
                style = "cyan"
            elif line.startswith("+"):
                style = "green"
            elif line.startswith("-"):
                style = "red"
            console.print(Text(line, style=style), soft_wrap=True)
    if diff.model:
        console.print(_changes_table("Model config", diff.model))
    if not diff.variables.empty:
        console.print(Text("Variables", style="bold"))
        for name, var in diff.variables.added.items():
            console.print(Text(f"  + {name} ({_describe(var)})  added", style="green"))
        for name, var in diff.variables.removed.items():
            console.print(Text(f"  - {name} ({_describe(var)})  removed", style="red"))
        for name, changes in diff.variables.changed.items():
            detail = ", ".join(f"{c.field}: {_show(c.old)} → {_show(c.new)}" for c in changes)
            console.print(Text(f"  ~ {name}  changed: {detail}", style="yellow"))
    if diff.output:
        console.print(_changes_table("Output rules", diff.output))
    if diff.metadata:
        console.print(_changes_table("Metadata", diff.metadata))
    if rows:
        console.print(_eval_table(rows))
