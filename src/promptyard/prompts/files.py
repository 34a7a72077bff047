"""Prompt files: ``prompts/<name>/<version>.prompt`` parsed into a :class:`PromptSpec`.

A file is YAML front matter between two ``---`` lines, then a body of message blocks::

    ---
    name: greet
    version: 1.0.0
    variables:
      who: {type: string}
    ---
    [system]
    You are friendly.

    [cache-breakpoint ttl=1h]

    [user]
    Say hello to {{ who }}.

Marker lines (alone on their line): ``[system]``, ``[user]``, ``[assistant]`` start a
block; ``[cache-breakpoint]`` / ``[cache-breakpoint ttl=5m]`` (default ``1h``) sit between
blocks. Every error names the file and the line in the file. The format is documented
for users in ``docs/prompt-files.md``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import semver
from jinja2 import TemplateSyntaxError
from pydantic import ValidationError

from promptyard.errors import PromptError, PromptFileError, PromptFilesError, UnsafeTemplateError
from promptyard.prompts.frontmatter import FrontMatter, allowed_keys, load_yaml, split_front_matter, yaml_line
from promptyard.prompts.model import PromptSpec
from promptyard.prompts.render import has_type
from promptyard.prompts.sandbox import load_block

__all__ = ["PromptFile", "content_hash", "discover", "load_prompt_file", "parse_prompt", "scan"]

_ROLE_RE = re.compile(r"\[(system|user|assistant)\]")
_BREAK_RE = re.compile(r"\[cache-breakpoint(?:\s+ttl=(5m|1h))?\]")
_MARKERISH_RE = re.compile(r"\[\s*(system|user|assistant|cache[-_ ]?breakpoint)\b[^\]]*\]", re.IGNORECASE)
_COMMENT_LINE_RE = re.compile(r"\{#.*#\}")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_TAG_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_MARKERS_HINT = "markers are [system], [user], [assistant], [cache-breakpoint] and [cache-breakpoint ttl=5m|1h]"
_BODY_KEYS = frozenset({"blocks", "breakpoints"})


def content_hash(text: str) -> str:
    """sha256 (hex) of the exact file text, UTF-8 encoded."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PromptFile:
    """One parsed prompt file."""

    path: Path
    text: str
    spec: PromptSpec
    content_hash: str


def parse_prompt(text: str, *, path: str | None = None) -> PromptSpec:
    """Parse a prompt file's text. ``path`` (``.../<name>/<version>.prompt``) is checked against the front matter.

    Raises :class:`PromptFileError` (with file and line) for anything malformed and
    :class:`UnsafeTemplateError` for a template that reaches for Python internals; the
    template is never run.
    """
    fm = split_front_matter(text, path=path)
    root, data = load_yaml(fm, path=path)
    _check_front_matter(data, root, fm, path)
    blocks, breakpoints = _parse_body(fm, path)
    try:
        spec = PromptSpec.model_validate({**data, "blocks": blocks, "breakpoints": breakpoints})
    except ValidationError as exc:
        raise _front_matter_error(exc, root, fm, path) from None
    _check_path(spec, root, fm, path)
    _check_defaults(spec, root, fm, path)
    _check_templates(spec, path)
    return spec


def load_prompt_file(path: Path) -> PromptFile:
    """Read and parse one file (bytes decoded as UTF-8; the hash covers the exact text)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PromptFileError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=str(path)) from exc
    except OSError as exc:
        raise PromptFileError(f"cannot read the file: {exc.strerror}", path=str(path)) from exc
    return PromptFile(path=path, text=text, spec=parse_prompt(text, path=str(path)), content_hash=content_hash(text))


def scan(prompts_dir: Path) -> tuple[list[PromptFile], list[PromptError]]:
    """Parse every ``*.prompt`` file under ``prompts_dir`` (sorted); return the good files and every error."""
    files: list[PromptFile] = []
    errors: list[PromptError] = []
    for file_path in sorted(prompts_dir.rglob("*.prompt")):
        try:
            files.append(load_prompt_file(file_path))
        except (PromptFileError, UnsafeTemplateError) as exc:
            errors.append(exc)
    return files, errors


def discover(prompts_dir: Path) -> list[PromptFile]:
    """Parse every ``*.prompt`` file under ``prompts_dir``; if any is bad, raise one error listing them all."""
    files, errors = scan(prompts_dir)
    if errors:
        raise PromptFilesError(errors)
    return files


# -- front matter checks ---------------------------------------------------------------


def _check_front_matter(data: dict[str, Any], root: Any, fm: FrontMatter, path: str | None) -> None:
    for key in data:
        if key in _BODY_KEYS:
            raise PromptFileError(
                f"{key!r} is not a front-matter key",
                path=path,
                line=yaml_line(root, (key,), fm.yaml_start, key=True),
                hint="message blocks and cache breakpoints go in the body, after the closing '---'",
            )
    for required in ("name", "version"):
        if required not in data:
            raise PromptFileError(f"front matter is missing {required!r}", path=path, line=fm.yaml_start)
    version = data["version"]
    line = yaml_line(root, ("version",), fm.yaml_start)
    if not isinstance(version, str) or not semver.Version.is_valid(version):
        raise PromptFileError(
            f"version {version!r} is not a semantic version",
            path=path,
            line=line,
            hint="use MAJOR.MINOR.PATCH, e.g. 1.0.0 (see https://semver.org)",
        )
    name = data["name"]
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise PromptFileError(
            f"name {name!r} is not a valid prompt name",
            path=path,
            line=yaml_line(root, ("name",), fm.yaml_start),
            hint="use letters, digits, '_' and '-', starting with a letter or digit",
        )
    variables = data.get("variables")
    if isinstance(variables, dict):
        for var_name, var in variables.items():
            if not isinstance(var_name, str) or not var_name.isidentifier() or var_name.startswith("_"):
                raise PromptFileError(
                    f"variable name {var_name!r} is not a valid identifier",
                    path=path,
                    line=yaml_line(root, ("variables", var_name), fm.yaml_start, key=True),
                    hint="use letters, digits and '_', not starting with a digit or '_'",
                )
            delimiter = var.get("delimiter") if isinstance(var, dict) else None
            if isinstance(delimiter, str) and not _TAG_RE.fullmatch(delimiter):
                raise PromptFileError(
                    f"delimiter {delimiter!r} of variable {var_name!r} is not a valid tag name",
                    path=path,
                    line=yaml_line(root, ("variables", var_name, "delimiter"), fm.yaml_start),
                    hint="use letters, digits, '_', '.' and '-', e.g. user_input",
                )


def _front_matter_error(exc: ValidationError, root: Any, fm: FrontMatter, path: str | None) -> PromptFileError:
    problems: list[str] = []
    first_line: int | None = None
    hint: str | None = None
    for err in exc.errors():
        loc = tuple(err["loc"])
        unknown = err["type"] == "extra_forbidden"
        line = yaml_line(root, loc, fm.yaml_start, key=unknown)
        where = ".".join(str(part) for part in loc) or "front matter"
        if unknown:
            message = f"{where}: unknown key"
            keys = allowed_keys(loc[:-1])
            if keys and hint is None:
                hint = "allowed keys here: " + ", ".join(sorted(keys - _BODY_KEYS))
        else:
            message = f"{where}: {err['msg']}"
        if line is not None:
            message += f" (line {line})"
            first_line = line if first_line is None else min(first_line, line)
        problems.append(message)
    return PromptFileError("invalid front matter: " + "; ".join(problems), path=path, line=first_line, hint=hint)


def _check_path(spec: PromptSpec, root: Any, fm: FrontMatter, path: str | None) -> None:
    if path is None:
        return
    file_path = Path(path)
    if file_path.parent.name != spec.name:
        raise PromptFileError(
            f"name {spec.name!r} does not match the folder {file_path.parent.name!r}",
            path=path,
            line=yaml_line(root, ("name",), fm.yaml_start),
            hint=f"a prompt lives at prompts/<name>/<version>.prompt; move the file to {spec.name}/ or fix the name",
        )
    if file_path.stem != spec.version:
        raise PromptFileError(
            f"version {spec.version!r} does not match the file name {file_path.name!r}",
            path=path,
            line=yaml_line(root, ("version",), fm.yaml_start),
            hint=f"rename the file to {spec.version}.prompt or fix the version",
        )


def _check_defaults(spec: PromptSpec, root: Any, fm: FrontMatter, path: str | None) -> None:
    for name, var in spec.variables.items():
        if var.default is None:
            continue
        line = yaml_line(root, ("variables", name, "default"), fm.yaml_start)
        if not has_type(var.default, var.type):
            raise PromptFileError(f"the default of variable {name!r} is not of type {var.type}", path=path, line=line)
        if var.max_length is not None and isinstance(var.default, (str, list)) and len(var.default) > var.max_length:
            raise PromptFileError(f"the default of variable {name!r} is longer than max_length", path=path, line=line)
    constrain = spec.model.constrain
    if constrain is not None:
        source = spec.variables.get(constrain.sources)
        if source is None or source.type != "list":
            line = yaml_line(root, ("model", "constrain"), fm.yaml_start)
            raise PromptFileError(
                f"model.constrain.sources names {constrain.sources!r}, which is not a declared list variable",
                path=path,
                line=line,
            )
        asked = None if constrain.question is None else spec.variables.get(constrain.question)
        if constrain.question is not None and (asked is None or asked.type != "string"):
            raise PromptFileError(
                f"model.constrain.question names {constrain.question!r}, which is not a declared string variable",
                path=path,
                line=yaml_line(root, ("model", "constrain"), fm.yaml_start),
            )


# -- body --------------------------------------------------------------------------------


def _parse_body(fm: FrontMatter, path: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    blocks: list[dict[str, Any]] = []
    breakpoints: list[dict[str, Any]] = []
    current: tuple[str, int, list[tuple[int, str]]] | None = None  # role, marker line, (line, text)

    def close() -> None:
        if current is None:
            return
        role, marker_line, lines = current
        while lines and not lines[-1][1].strip():
            lines.pop()
        while lines and not lines[0][1].strip():
            lines.pop(0)
        if not lines:
            raise PromptFileError(
                f"the [{role}] block is empty", path=path, line=marker_line, hint="write its text or remove the marker"
            )
        blocks.append({"role": role, "template": "\n".join(t for _, t in lines), "line": lines[0][0]})

    for offset, raw in enumerate(fm.body_lines):
        number = fm.body_start + offset
        stripped = raw.strip()
        role = _ROLE_RE.fullmatch(stripped)
        brk = _BREAK_RE.fullmatch(stripped)
        if role:
            close()
            current = (role.group(1), number, [])
        elif brk:
            close()
            current = None
            if not blocks:
                raise PromptFileError(
                    "a cache breakpoint must follow a message block", path=path, line=number, hint=_MARKERS_HINT
                )
            if breakpoints and breakpoints[-1]["after_blocks"] == len(blocks):
                raise PromptFileError("two cache breakpoints in a row", path=path, line=number)
            breakpoints.append({"after_blocks": len(blocks), "ttl": brk.group(1) or "1h"})
        elif _MARKERISH_RE.fullmatch(stripped):
            raise PromptFileError(f"malformed marker {stripped!r}", path=path, line=number, hint=_MARKERS_HINT)
        elif current is not None:
            current[2].append((number, raw))
        elif stripped and not _COMMENT_LINE_RE.fullmatch(stripped):
            raise PromptFileError(
                "text before the first message marker",
                path=path,
                line=number,
                hint="start the body with [system], [user] or [assistant] on a line of its own",
            )
    close()
    if not blocks:
        raise PromptFileError(
            "the body has no message blocks",
            path=path,
            line=fm.body_start,
            hint="add at least one block, e.g. a line [user] followed by its text",
        )
    return blocks, breakpoints


def _check_templates(spec: PromptSpec, path: str | None) -> None:
    for block in spec.blocks:
        try:
            compiled = load_block(block.template)
        except TemplateSyntaxError as exc:
            raise PromptFileError(
                f"template syntax error in the [{block.role}] block: {exc.message}",
                path=path,
                line=block.line + (exc.lineno or 1) - 1,
            ) from None
        for bad in compiled.unsafe:
            line = block.line + bad.line - 1
            if bad.unsupported:
                raise PromptFileError(f"{bad.what} is not supported in prompt files", path=path, line=line)
            where = f"{path}:{line}" if path else f"line {line}"
            raise UnsafeTemplateError(
                f"{where}: unsafe template in the [{block.role}] block: {bad.what}",
                hint="templates may not reach Python internals; names starting with '_' are off limits",
            )
