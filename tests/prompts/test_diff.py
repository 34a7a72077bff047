"""Diff: template body, model config, variable schema, coloured output."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from rich.console import Console

from promptyard.prompts.diff import EvalDeltaRow, PromptDiff, diff_prompts, render_diff
from promptyard.prompts.files import PromptFile, content_hash, parse_prompt

OLD = textwrap.dedent(
    """\
    ---
    name: mail
    version: 1.0.0
    changelog: First.
    model:
      temperature: 0.2
    variables:
      body: {type: string, untrusted: true, max_length: 100}
      tone: {type: string, required: false}
    ---
    [system]
    Summarize emails.

    [cache-breakpoint]

    [user]
    {{ tone }} {{ body }}
    """
)

NEW = textwrap.dedent(
    """\
    ---
    name: mail
    version: 1.1.0
    changelog: Shorter.
    model:
      temperature: 0.5
      fallbacks:
        - {model: openai/gpt-4o-mini}
    variables:
      body: {type: string, untrusted: true, max_length: 200}
      audience: {type: string, required: false}
    output:
      required_sections: ["Action:"]
    ---
    [system]
    Summarize emails in three bullets.

    [cache-breakpoint]

    [user]
    {{ audience }} {{ body }}
    """
)


def _file(text: str) -> PromptFile:
    spec = parse_prompt(text)
    return PromptFile(
        path=Path(f"prompts/mail/{spec.version}.prompt"), text=text, spec=spec, content_hash=content_hash(text)
    )


def test_diff_calls_out_every_kind_of_change() -> None:
    diff = diff_prompts(_file(OLD), _file(NEW))
    assert diff.changed
    assert (diff.old_ref, diff.new_ref) == ("mail@1.0.0", "mail@1.1.0")
    assert "-Summarize emails." in diff.template
    assert "+Summarize emails in three bullets." in diff.template
    assert "-{{ tone }} {{ body }}" in diff.template
    assert "+{{ audience }} {{ body }}" in diff.template
    # Hunk headers count lines of the files, not of the body.
    assert diff.template[2].startswith("@@ -11,7 +15,7 @@")
    model = {c.field: (c.old, c.new) for c in diff.model}
    assert model["temperature"] == (0.2, 0.5)
    assert model["fallbacks"][0] == []
    assert model["fallbacks"][1][0]["model"] == "openai/gpt-4o-mini"
    assert list(diff.variables.added) == ["audience"]
    assert list(diff.variables.removed) == ["tone"]
    assert [(c.field, c.old, c.new) for c in diff.variables.changed["body"]] == [("max_length", 100, 200)]
    assert [(c.field, c.new) for c in diff.output] == [("required_sections", ["Action:"])]
    assert {c.field for c in diff.metadata} == {"changelog"}


def test_pairs_and_four_values_give_the_same_diff() -> None:
    old, new = parse_prompt(OLD), parse_prompt(NEW)
    assert diff_prompts((OLD, old), (NEW, new)) == diff_prompts(OLD, old, NEW, new)
    assert diff_prompts(_file(OLD), (NEW, new)) == diff_prompts(OLD, old, NEW, new)


def test_identical_versions_have_no_changes() -> None:
    diff = diff_prompts((OLD, parse_prompt(OLD)), (OLD, parse_prompt(OLD)))
    assert not diff.changed
    assert diff.template == []
    out = _render(diff)
    assert "no differences" in out


def test_nested_schema_changes_are_reported_by_path() -> None:
    base = (
        "---\nname: c\nversion: {v}\noutput:\n"
        "  json_schema: {{type: object, properties: {{p: {{enum: {e}}}}}}}\n---\n[user]\nx\n"
    )
    old_text, new_text = base.format(v="1.0.0", e="[a, b]"), base.format(v="1.0.1", e="[a, b, c]")
    diff = diff_prompts(old_text, parse_prompt(old_text), new_text, parse_prompt(new_text))
    assert [(c.field, c.old, c.new) for c in diff.output] == [
        ("json_schema.properties.p.enum", ["a", "b"], ["a", "b", "c"])
    ]
    assert diff.template == []


def _render(diff: PromptDiff, eval_delta: list[EvalDeltaRow] | None = None) -> str:
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=120, record=True)
    render_diff(diff, console, eval_delta=eval_delta)
    return console.export_text(styles=False)


def test_render_diff_colours_and_prints_markup_literally() -> None:
    diff = diff_prompts(_file(OLD), _file(NEW))
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=120, record=True)
    render_diff(diff, console)
    plain = console.export_text(styles=False, clear=False)
    styled = console.export_text(styles=True)
    assert "mail@1.0.0 → mail@1.1.0" in plain
    assert "[system]" in plain  # rich markup is not interpreted in prompt text
    assert "+ audience (string, optional)  added" in plain
    assert "- tone (string, optional)  removed" in plain
    assert "~ body  changed: max_length: 100 → 200" in plain
    assert "temperature" in plain
    assert "\x1b[" in styled  # coloured
    assert "Eval delta" not in plain


def test_eval_delta_table_is_shown_when_given() -> None:
    diff = diff_prompts(_file(OLD), _file(NEW), eval_delta=[EvalDeltaRow(metric="faithfulness", old=0.5, new=0.75)])
    plain = _render(diff)
    assert "Eval delta" in plain
    assert "+0.250" in plain
    override = _render(diff, eval_delta=[EvalDeltaRow(metric="latency_ms", old=100, new=90, higher_is_better=False)])
    assert "latency_ms" in override
    assert "faithfulness" not in override
    assert diff.model_dump_json()  # serializable for the HTTP API
