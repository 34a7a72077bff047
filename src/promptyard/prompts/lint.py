"""Lint a parsed prompt: caching mistakes and variables that disagree with their declarations.

Codes (severity):

* ``variable-before-breakpoint`` (warning): a variable appears in a block before the first
  cache breakpoint. Variables are per-request values, so the "stable" prefix changes
  with every call and prefix caching never hits.
* ``missing-cache-breakpoint`` (warning): no ``[cache-breakpoint]`` at all.
* ``too-many-breakpoints`` (warning): more than 4 (Anthropic honours at most 4).
* ``breakpoint-ttl-order`` (error): a ``1h`` breakpoint after a ``5m`` one (providers
  require longer-lived entries first).
* ``undeclared-variable`` (error): used in a template but not declared (loop and ``set``
  targets are not variables); rendering would fail.
* ``unused-variable`` (warning): declared but used by no block.
* ``untrusted-in-system`` (warning): an untrusted value inside a system block gives
  user-controlled text the system prompt's authority.
* ``template-syntax`` / ``unsafe-template`` (error): for specs that did not come from
  :func:`~promptyard.prompts.files.parse_prompt`, which refuses both.
"""

from __future__ import annotations

from typing import Literal

from jinja2 import TemplateSyntaxError, nodes
from pydantic import BaseModel, ConfigDict

from promptyard.errors import PromptFileError
from promptyard.prompts.frontmatter import load_yaml, split_front_matter, yaml_line
from promptyard.prompts.model import PromptSpec
from promptyard.prompts.sandbox import CompiledBlock, environment, load_block

__all__ = ["MAX_BREAKPOINTS", "LintIssue", "has_errors", "lint"]

MAX_BREAKPOINTS = 4
_GLOBALS = frozenset(environment.globals)


class LintIssue(BaseModel):
    model_config = ConfigDict(frozen=True)

    severity: Literal["warning", "error"]
    code: str
    message: str
    line: int | None = None
    """Line in the prompt file, when known."""


def has_errors(issues: list[LintIssue]) -> bool:
    return any(issue.severity == "error" for issue in issues)


def _first_use(ast: nodes.Template, name: str) -> int:
    lines = [node.lineno for node in ast.find_all(nodes.Name) if node.name == name and node.ctx == "load"]
    return min(lines, default=1)


def _declaration_lines(text: str | None) -> dict[str, int]:
    """Front-matter line of each declared variable, when the file text is at hand."""
    if text is None:
        return {}
    try:
        fm = split_front_matter(text)
        root, data = load_yaml(fm)
    except PromptFileError:
        return {}
    variables = data.get("variables")
    if not isinstance(variables, dict):
        return {}
    found: dict[str, int] = {}
    for name in variables:
        line = yaml_line(root, ("variables", str(name)), fm.yaml_start, key=True)
        if line is not None:
            found[str(name)] = line
    return found


def _breakpoint_issues(spec: PromptSpec) -> list[LintIssue]:
    issues: list[LintIssue] = []
    if not spec.breakpoints:
        issues.append(
            LintIssue(
                severity="warning",
                code="missing-cache-breakpoint",
                message="no [cache-breakpoint]: mark where the stable prefix ends so providers can cache it",
            )
        )
    if len(spec.breakpoints) > MAX_BREAKPOINTS:
        issues.append(
            LintIssue(
                severity="warning",
                code="too-many-breakpoints",
                message=f"{len(spec.breakpoints)} cache breakpoints; providers honour at most {MAX_BREAKPOINTS}",
            )
        )
    seen_short = False
    for brk in spec.breakpoints:
        if brk.ttl == "5m":
            seen_short = True
        elif seen_short:
            block = spec.blocks[min(brk.after_blocks, len(spec.blocks)) - 1]
            issues.append(
                LintIssue(
                    severity="error",
                    code="breakpoint-ttl-order",
                    message="a ttl=1h breakpoint follows a ttl=5m one; longer-lived breakpoints must come first",
                    line=block.line,
                )
            )
    return issues


def lint(spec: PromptSpec, *, text: str | None = None) -> list[LintIssue]:
    """Lint ``spec``. Pass the file ``text`` to get front-matter lines for declaration issues."""
    issues = _breakpoint_issues(spec)
    prefix_end = spec.breakpoints[0].after_blocks if spec.breakpoints else 0
    used: set[str] = set()
    for position, block in enumerate(spec.blocks):
        try:
            compiled: CompiledBlock = load_block(block.template)
        except TemplateSyntaxError as exc:
            line = block.line + (exc.lineno or 1) - 1
            issues.append(LintIssue(severity="error", code="template-syntax", message=exc.message or "", line=line))
            continue
        for bad in compiled.unsafe:
            issues.append(
                LintIssue(severity="error", code="unsafe-template", message=bad.what, line=block.line + bad.line - 1)
            )
        for name in sorted(compiled.names):
            if name in _GLOBALS and name not in spec.variables:
                continue
            used.add(name)
            line = block.line + _first_use(compiled.ast, name) - 1
            var = spec.variables.get(name)
            if var is None:
                issues.append(
                    LintIssue(
                        severity="error",
                        code="undeclared-variable",
                        message=f"{name!r} is used in the [{block.role}] block but not declared under variables:",
                        line=line,
                    )
                )
                continue
            if position < prefix_end:
                issues.append(
                    LintIssue(
                        severity="warning",
                        code="variable-before-breakpoint",
                        message=(
                            f"variable {name!r} appears before the first cache breakpoint; a per-request value "
                            "there changes the prefix on every call and defeats prefix caching "
                            "(move it below the [cache-breakpoint])"
                        ),
                        line=line,
                    )
                )
            if var.untrusted and block.role == "system":
                issues.append(
                    LintIssue(
                        severity="warning",
                        code="untrusted-in-system",
                        message=f"untrusted variable {name!r} in a system block gives user text system authority",
                        line=line,
                    )
                )
    declared_at = _declaration_lines(text)
    for name in sorted(set(spec.variables) - used):
        issues.append(
            LintIssue(
                severity="warning",
                code="unused-variable",
                message=f"variable {name!r} is declared but no block uses it",
                line=declared_at.get(name),
            )
        )
    return sorted(issues, key=lambda issue: (issue.severity != "error", issue.line or 0, issue.code))
