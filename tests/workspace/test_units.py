"""The workspace's pure helpers: version suggestion, highlighting, side-by-side rows, form coercion."""

from __future__ import annotations

import pytest

from promptyard.errors import InvalidInput
from promptyard.prompts.files import parse_prompt
from promptyard.workspace.drafts import check_text, suggest_version, with_version
from promptyard.workspace.highlight import segments
from promptyard.workspace.playground import coerce_variables, form_fields
from promptyard.workspace.sidebyside import side_by_side

from .conftest import greet_file

SPEC = parse_prompt(
    """---
name: kinds
version: 1.0.0
variables:
  s: {type: string}
  n: {type: integer, required: false, default: 2}
  x: {type: number, required: false}
  b: {type: boolean, required: false}
  items: {type: list, required: false}
---
[user]
{{ s }} {{ n }} {{ x }} {{ b }} {% for i in items or [] %}{{ i }}{% endfor %}
"""
)


def test_suggest_version_bumps_the_highest_patch_in_semver_order() -> None:
    assert suggest_version(["1.2.0", "1.10.0", "1.9.3"]) == "1.10.1"
    assert suggest_version([]) == "1.0.0"


def test_with_version_rewrites_only_the_front_matter_line() -> None:
    text = greet_file("1.1.0")
    out = with_version(text, "2.0.0")
    assert "version: 2.0.0" in out
    assert out.replace("version: 2.0.0", "version: 1.1.0") == text
    assert check_text(out)[0] is not None


def test_segments_mark_variables_and_logic_and_keep_every_character() -> None:
    tpl = "Hi {{ who }}{% if x %}!{% endif %} {{- other|upper }} {# note #}"
    segs = segments(tpl)
    assert "".join(s.text for s in segs) == tpl
    assert [(s.kind, s.name) for s in segs if s.kind == "var"] == [("var", "who"), ("var", "other")]
    assert sum(s.kind == "tag" for s in segs) == 3


def test_side_by_side_pairs_changed_lines_and_numbers_both_sides() -> None:
    rows = side_by_side("a\nb\nc\n", "a\nB\nc\nd\n")
    assert [(r.kind, r.old_no, r.old, r.new_no, r.new) for r in rows] == [
        ("equal", 1, "a", 1, "a"),
        ("changed", 2, "b", 2, "B"),
        ("equal", 3, "c", 3, "c"),
        ("added", None, None, 4, "d"),
    ]


def test_form_fields_follow_the_schema_and_coercion_types_the_values() -> None:
    fields = {f.name: f for f in form_fields(SPEC, {"items": ["a", "b"]})}
    assert {n: f.kind for n, f in fields.items()} == {
        "s": "textarea",
        "n": "number",
        "x": "number",
        "b": "checkbox",
        "items": "json",
    }
    assert fields["n"].value == "2"
    assert fields["s"].required
    assert not fields["n"].required
    assert fields["items"].value.startswith("[")
    values = coerce_variables(SPEC, {"var.s": "hey", "var.n": "3", "var.x": "0.5", "var.b": "on", "var.items": "[1]"})
    assert values == {"s": "hey", "n": 3, "x": 0.5, "b": True, "items": [1]}
    assert coerce_variables(SPEC, {"var.s": "hey", "var.n": ""}) == {"s": "hey", "b": False}
    with pytest.raises(InvalidInput, match=r"n: not a valid integer.*items: not a valid list"):
        coerce_variables(SPEC, {"var.n": "2.5", "var.items": "[oops"})
