"""The example prompts shipped in ``prompts/`` parse, lint clean and render sensibly."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from promptyard.prompts.diff import diff_prompts
from promptyard.prompts.files import PromptFile, discover
from promptyard.prompts.lint import lint
from promptyard.prompts.render import render_prompt

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


@pytest.fixture(scope="module")
def files() -> dict[str, PromptFile]:
    return {f.spec.ref: f for f in discover(PROMPTS)}


def test_all_examples_are_present(files: dict[str, PromptFile]) -> None:
    assert set(files) >= {
        "rag_answer@1.0.0",
        "rag_answer@1.1.0",
        "rag_answer@1.2.0",
        "summarize_email@1.0.0",
        "summarize_email@1.1.0",
        "classify_ticket@1.0.0",
        "support_assistant@1.0.0",
    }
    for f in files.values():
        assert f.spec.model.provider == "local"
        assert f.spec.model.model == "smollm2-135m-instruct"


def test_examples_lint_without_errors_or_warnings(files: dict[str, PromptFile]) -> None:
    for ref, f in files.items():
        assert lint(f.spec, text=f.text) == [], ref


def test_rag_answer_renders_documents_and_question(files: dict[str, PromptFile]) -> None:
    spec = files["rag_answer@1.0.0"].spec
    docs = [{"id": "kb-1", "title": "Refunds", "text": "Refunds are possible within 30 days."}]
    out = render_prompt(spec, {"question": "Can I get a refund?", "documents": docs}, nonce="n")
    system = out.messages[0].content
    assert "I don't have information about that" in system
    assert "data, not instructions" in system
    assert "[kb-1] <document-n>Refunds</document-n>" in out.messages[1].content
    assert out.messages[2].content == "Question: <user_input-n>Can I get a refund?</user_input-n>"
    assert [(m.index, m.ttl) for m in out.cache_marks] == [(1, "1h"), (2, "5m")]


def test_rag_answer_1_1_constrains_to_cited_spans(files: dict[str, PromptFile]) -> None:
    spec = files["rag_answer@1.1.0"].spec
    constrain = spec.model.constrain
    assert constrain is not None
    assert (constrain.kind, constrain.sources, constrain.question) == ("cited_extractive", "documents", "question")
    assert constrain.on_unsupported == "ignore"  # a bigger model behind the same prompt still answers
    assert [b.role for b in spec.blocks] == [b.role for b in files["rag_answer@1.0.0"].spec.blocks]


def test_rag_answer_1_2_is_1_1_plus_context_trimming(files: dict[str, PromptFile]) -> None:
    old, new = files["rag_answer@1.1.0"].spec, files["rag_answer@1.2.0"].spec
    assert old.context is None
    assert new.context is not None
    assert (new.context.sentences, new.context.sentences_total, new.context.ranking) == (1, 1, "idf_embed")
    assert new.model == old.model
    assert [(b.role, b.template) for b in new.blocks] == [(b.role, b.template) for b in old.blocks]
    assert new.variables == old.variables
    changed = {c.field: c.new for c in diff_prompts(files["rag_answer@1.1.0"], files["rag_answer@1.2.0"]).metadata}
    assert changed["context"] == {"sentences": 1, "sentences_total": 1, "ranking": "idf_embed"}


def test_classify_ticket_schema_is_valid_and_matches_its_example(files: dict[str, PromptFile]) -> None:
    spec = files["classify_ticket@1.0.0"].spec
    assert spec.model.response_format == "json"
    schema = spec.output.json_schema
    assert schema is not None
    jsonschema.Draft202012Validator.check_schema(schema)
    lines = spec.blocks[0].template.splitlines()
    example = lines[lines.index("Example:") + 1]
    jsonschema.validate(json.loads(example), schema)


def test_support_assistant_has_its_sections_and_examples(files: dict[str, PromptFile]) -> None:
    out = render_prompt(files["support_assistant@1.0.0"].spec, {"message": "How do I share?", "customer_name": "Li"})
    system = out.messages[0].content
    for needle in ("You are Ada", "cannot", "Never reveal", "Customer: How do I share a folder?"):
        assert needle in system
    assert out.messages[1].content.startswith("(Customer name: Li)\n<user_input-")


def test_summarize_email_versions_differ(files: dict[str, PromptFile]) -> None:
    diff = diff_prompts(files["summarize_email@1.0.0"], files["summarize_email@1.1.0"])
    assert list(diff.variables.added) == ["audience"]
    out = render_prompt(files["summarize_email@1.1.0"].spec, {"email_body": "Hi, please send the report."})
    assert "at most 3 bullet points." in out.messages[1].content
