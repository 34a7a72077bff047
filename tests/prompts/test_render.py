"""Variable validation and rendering: all problems at once, loops, conditionals, cache marks."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from promptyard.errors import RenderError, UnsafeTemplateError, VariableValidationError
from promptyard.prompts.files import parse_prompt
from promptyard.prompts.model import Breakpoint, MessageBlock, PromptSpec, VariableSpec
from promptyard.prompts.render import render_prompt, validate_variables
from promptyard.prompts.sandbox import load_block

SPEC_TEXT = textwrap.dedent(
    """\
    ---
    name: shop
    version: 2.0.0
    variables:
      shop: {type: string, required: false, default: "Zürich Café"}
      examples: {type: list, required: false}
      question: {type: string, untrusted: true, max_length: 40}
      count: {type: integer}
      ratio: {type: number, required: false}
      vip: {type: boolean, required: false, default: false}
      profile: {type: object, required: false}
      note: {type: string, required: false}
    ---
    [system]
    You work at a shop.

    [cache-breakpoint]

    [user]
    {% for ex in examples %}
    Q{{ loop.index }}: {{ ex.q }}
    A{{ loop.index }}: {{ ex.a }}
    {% endfor %}

    [cache-breakpoint ttl=5m]

    [assistant]
    {% if vip %}Welcome back, valued customer of {{ shop }}.{% endif %}

    [user]
    {{ question }} ({{ count }} items{% if note %}, {{ note }}{% endif %})
    """
)


@pytest.fixture
def spec() -> PromptSpec:
    return parse_prompt(SPEC_TEXT)


def test_every_problem_is_reported_at_once(spec: PromptSpec) -> None:
    with pytest.raises(VariableValidationError) as info:
        validate_variables(spec, {"question": "x" * 41, "ratio": "high", "vip": 1, "colour": "red"})
    problems = info.value.problems
    assert len(problems) == 5
    joined = "\n".join(problems)
    assert "undeclared variable 'colour'" in joined
    assert "missing required variable 'count'" in joined
    assert "'question' is too long: 41 characters, at most 40" in joined
    assert "'ratio' must be number, got string" in joined
    assert "'vip' must be boolean, got integer" in joined
    assert "shop@2.0.0" in str(info.value)


def test_booleans_are_not_integers(spec: PromptSpec) -> None:
    with pytest.raises(VariableValidationError, match="'count' must be integer, got boolean"):
        validate_variables(spec, {"question": "q", "count": True})


def test_list_max_length_counts_items() -> None:
    spec = PromptSpec(
        name="t",
        version="1.0.0",
        variables={"xs": VariableSpec(type="list", max_length=2)},
        blocks=[MessageBlock(role="user", template="{{ xs|length }}")],
    )
    with pytest.raises(VariableValidationError, match="3 items, at most 2"):
        validate_variables(spec, {"xs": [1, 2, 3]})


def test_defaults_and_empty_values(spec: PromptSpec) -> None:
    values = validate_variables(spec, {"question": "q", "count": 2, "examples": ({"q": "a", "a": "b"},)})
    assert values["shop"] == "Zürich Café"
    assert values["vip"] is False
    assert values["note"] == ""
    assert values["profile"] == {}
    assert values["ratio"] is None
    assert values["examples"] == [{"q": "a", "a": "b"}]


def test_render_loops_conditionals_and_cache_marks(spec: PromptSpec) -> None:
    examples = [{"q": f"question {i}", "a": f"answer {i}"} for i in range(1, 4)]
    out = render_prompt(
        spec, {"question": "Où est ma commande?", "count": 3, "examples": examples, "vip": True}, nonce="n1"
    )
    assert [m.role for m in out.messages] == ["system", "user", "assistant", "user"]
    assert out.messages[1].content == (
        "Q1: question 1\nA1: answer 1\nQ2: question 2\nA2: answer 2\nQ3: question 3\nA3: answer 3"
    )
    assert out.messages[2].content == "Welcome back, valued customer of Zürich Café."
    assert out.messages[3].content == "<user_input-n1>Où est ma commande?</user_input-n1> (3 items)"
    assert [(m.index, m.ttl) for m in out.cache_marks] == [(1, "1h"), (2, "5m")]
    assert out.ref == "shop@2.0.0"
    assert out.variables["question"] == "Où est ma commande?"
    assert out.nonce == "n1"


def test_empty_blocks_are_dropped_and_marks_adjusted(spec: PromptSpec) -> None:
    out = render_prompt(spec, {"question": "q", "count": 1, "note": "gift wrap"}, nonce="n1")
    # The examples block and the assistant block render empty: two messages are left.
    assert [m.role for m in out.messages] == ["system", "user"]
    assert out.messages[1].content == "<user_input-n1>q</user_input-n1> (1 items, gift wrap)"
    # Both breakpoints now fall after message 1; the duplicate collapses to the first one.
    assert [(m.index, m.ttl) for m in out.cache_marks] == [(1, "1h")]


def test_marks_with_an_empty_prefix_are_dropped() -> None:
    spec = PromptSpec(
        name="t",
        version="1.0.0",
        variables={"intro": VariableSpec(required=False)},
        blocks=[MessageBlock(role="system", template="{{ intro }}"), MessageBlock(role="user", template="hi")],
        breakpoints=[Breakpoint(after_blocks=1)],
    )
    out = render_prompt(spec, {})
    assert [m.content for m in out.messages] == ["hi"]
    assert out.cache_marks == []


def test_rendering_nothing_at_all_is_an_error() -> None:
    spec = PromptSpec(
        name="t",
        version="1.0.0",
        variables={"x": VariableSpec(required=False)},
        blocks=[MessageBlock(role="user", template="{{ x }}")],
    )
    with pytest.raises(RenderError, match="rendered no messages"):
        render_prompt(spec, {})


@pytest.mark.parametrize(
    "text",
    [
        "Grüße aus Zürich — ½ € «quotes» 東京 🚀 עברית e\u0301",
        "Zero\u200bwidth and non\u00a0breaking",
    ],
)
def test_non_ascii_renders_unchanged(text: str) -> None:
    spec = PromptSpec(
        name="t",
        version="1.0.0",
        variables={"a": VariableSpec(), "b": VariableSpec(untrusted=True)},
        blocks=[
            MessageBlock(role="system", template=f"{text}\n{{{{ a }}}}"),
            MessageBlock(role="user", template="{{ b }}"),
        ],
    )
    out = render_prompt(spec, {"a": text, "b": text}, nonce="abc")
    assert out.messages[0].content == f"{text}\n{text}"
    assert out.messages[1].content == f"<user_input-abc>{text}</user_input-abc>"


def test_nonce_is_random_per_render_unless_given(spec: PromptSpec) -> None:
    values = {"question": "q", "count": 1}
    nonces = {render_prompt(spec, values).nonce for _ in range(5)}
    assert len(nonces) == 5
    assert render_prompt(spec, values, nonce="fixed") == render_prompt(spec, values, nonce="fixed")
    with pytest.raises(RenderError, match="invalid nonce"):
        render_prompt(spec, values, nonce="bad nonce>")


def test_blocks_are_compiled_once(spec: PromptSpec) -> None:
    load_block.cache_clear()
    for _ in range(5):
        render_prompt(spec, {"question": "q", "count": 1})
    info = load_block.cache_info()
    assert info.misses == len(spec.blocks)
    assert info.hits == 4 * len(spec.blocks)


def test_unknown_names_fail_instead_of_rendering_empty() -> None:
    spec = parse_prompt("---\nname: t\nversion: 1.0.0\n---\n[user]\nHello {{ who }}\n")
    with pytest.raises(RenderError, match="'who' is undefined"):
        render_prompt(spec, {})


class Recorder(Mapping[str, Any]):
    """A mapping that records every key read from it."""

    def __init__(self) -> None:
        self.reads: list[str] = []

    def __getitem__(self, key: str) -> Any:
        self.reads.append(key)
        return "value"

    def __iter__(self) -> Iterator[str]:
        return iter(["key"])

    def __len__(self) -> int:
        return 1


def test_unsafe_spec_from_elsewhere_is_refused_without_running() -> None:
    recorder = Recorder()
    spec = PromptSpec(
        name="t",
        version="1.0.0",
        variables={"data": VariableSpec(type="object")},
        blocks=[MessageBlock(role="user", template="{{ data.key }} {{ data.__class__.__mro__ }}", line=7)],
    )
    with pytest.raises(UnsafeTemplateError, match=r"\[user\] block at line 7"):
        render_prompt(spec, {"data": recorder})
    assert recorder.reads == []


@pytest.mark.parametrize(
    ("template", "variables"),
    [
        ("{{ data|attr(name) }}", {"data": {"a": 1}, "name": "__class__"}),
        ("{{ data|attr('_' ~ '_class__') }}", {"data": {"a": 1}, "name": "x"}),
        ("{{ items.append(3) }}", {"items": [1, 2], "data": {}, "name": "x"}),
        ("{{ name.format(data) }}", {"data": {}, "name": "{0.__class__.__mro__}"}),
    ],
)
def test_dynamic_escapes_are_blocked_by_the_sandbox(template: str, variables: dict[str, Any]) -> None:
    spec = PromptSpec(
        name="t",
        version="1.0.0",
        variables={
            "data": VariableSpec(type="object"),
            "name": VariableSpec(),
            "items": VariableSpec(type="list", required=False),
        },
        blocks=[MessageBlock(role="user", template=template)],
    )
    assert load_block(template).unsafe == ()  # not visible statically ...
    with pytest.raises(UnsafeTemplateError):  # ... but refused by the sandbox at render time
        render_prompt(spec, variables)


def test_template_runtime_errors_become_render_errors() -> None:
    spec = PromptSpec(
        name="t",
        version="1.0.0",
        variables={"n": VariableSpec(type="integer")},
        blocks=[MessageBlock(role="user", template="{{ 10 // n }}", line=3)],
    )
    with pytest.raises(RenderError, match="ZeroDivisionError"):
        render_prompt(spec, {"n": 0})
