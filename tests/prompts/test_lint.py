"""Lint: caching mistakes and declared/used variable mismatches."""

from __future__ import annotations

import textwrap

from promptyard.prompts.files import parse_prompt
from promptyard.prompts.lint import LintIssue, has_errors, lint
from promptyard.prompts.model import Breakpoint, MessageBlock, PromptSpec


def codes(issues: list[LintIssue]) -> list[tuple[str, int | None]]:
    return [(issue.code, issue.line) for issue in issues]


TEXT = textwrap.dedent(
    """\
    ---
    name: t
    version: 1.0.0
    variables:
      user_name: {type: string}
      question: {type: string, untrusted: true}
      shots: {type: list, required: false}
      legacy: {type: string, required: false}
    ---
    [system]
    You help {{ user_name }}.
    {% set tone = "kind" %}
    Be {{ tone }}. {{ question }}

    [cache-breakpoint]

    [user]
    {% for shot in shots %}{{ shot }} {{ loop.index }} {% endfor %}
    {% for i in range(2) %}{{ i }}{% endfor %}
    {{ question }} {{ topic }}
    """
)


def test_lint_reports_each_problem_with_its_line() -> None:
    text = TEXT
    issues = lint(parse_prompt(text), text=text)
    assert codes(issues) == [
        ("undeclared-variable", 20),
        ("unused-variable", 8),
        ("variable-before-breakpoint", 11),
        ("untrusted-in-system", 13),
        ("variable-before-breakpoint", 13),
    ]
    assert has_errors(issues)
    before = next(i for i in issues if i.code == "variable-before-breakpoint")
    assert "'user_name'" in before.message
    assert "defeats prefix caching" in before.message
    assert before.severity == "warning"


def test_unused_variable_without_text_has_no_line() -> None:
    issues = lint(parse_prompt(TEXT))
    assert ("unused-variable", None) in codes(issues)


def test_clean_prompt_has_no_issues() -> None:
    text = (
        "---\nname: t\nversion: 1.0.0\nvariables:\n  q: {}\n---\n[system]\nHi.\n[cache-breakpoint]\n[user]\n{{ q }}\n"
    )
    assert lint(parse_prompt(text), text=text) == []


def test_missing_breakpoint_is_a_warning() -> None:
    issues = lint(parse_prompt("---\nname: t\nversion: 1.0.0\n---\n[user]\nHi.\n"))
    assert codes(issues) == [("missing-cache-breakpoint", None)]
    assert not has_errors(issues)


def test_breakpoint_count_and_ttl_order() -> None:
    spec = PromptSpec(
        name="t",
        version="1.0.0",
        blocks=[MessageBlock(role="user", template=f"part {i}", line=10 + 2 * i) for i in range(6)],
        breakpoints=[Breakpoint(after_blocks=1, ttl="5m")]
        + [Breakpoint(after_blocks=i, ttl="1h") for i in (2, 3, 4, 5)],
    )
    issues = lint(spec)
    assert ("too-many-breakpoints", None) in codes(issues)
    ttl = [i for i in issues if i.code == "breakpoint-ttl-order"]
    assert [i.line for i in ttl] == [12, 14, 16, 18]
    assert all(i.severity == "error" for i in ttl)


def test_specs_that_bypassed_the_parser_are_still_checked() -> None:
    spec = PromptSpec(
        name="t",
        version="1.0.0",
        blocks=[
            MessageBlock(role="user", template="ok\n{{ x.__class__ }}", line=5),
            MessageBlock(role="user", template="{% if %}", line=9),
        ],
        breakpoints=[Breakpoint(after_blocks=1)],
    )
    found = codes(lint(spec))
    assert ("unsafe-template", 6) in found
    assert ("template-syntax", 9) in found
