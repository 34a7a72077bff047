"""Citation checks: fabricated ids removed and flagged, quotes verified, unsupported and abstention."""

from __future__ import annotations

from promptyard.rag.citations import ABSTENTION, check_answer, sentences
from promptyard.rag.models import ContextDocument

DOCS = [
    ContextDocument(
        id="doc_1", title="Cats", text="Cats purr when they are content. A cat sleeps 16 hours.", source="cats.md"
    ),
    ContextDocument(
        id="docs/rag.md", title="RAG", text="Ingest with promptyard ingest PATH --corpus NAME.", source="docs/rag.md"
    ),
]


def test_fabricated_citation_is_removed_and_flagged() -> None:
    out = check_answer("Cats purr when content [doc_1]. They also fly [doc_99].", DOCS)
    assert out.text == "Cats purr when content [doc_1]. They also fly."
    assert "invalid_citation" in out.flags
    assert "unsupported" not in out.flags
    assert [c.id for c in out.citations] == ["doc_1"]
    assert (out.citations[0].title, out.citations[0].source) == ("Cats", "cats.md")
    assert {(r.doc_id, r.valid) for r in out.records} == {("doc_1", True), ("doc_99", False)}


def test_mixed_group_keeps_the_valid_id() -> None:
    out = check_answer("Cats sleep a lot [doc_1, doc_99].", DOCS)
    assert out.text == "Cats sleep a lot [doc_1]."
    assert out.flags == ["invalid_citation"]


def test_quote_absent_from_cited_chunk_is_flagged() -> None:
    out = check_answer('The document says "cats bark loudly at night" [doc_1].', DOCS)
    assert "quote_not_found" in out.flags
    assert "[doc_1]" not in out.text
    assert out.citations == []
    assert "unsupported" in out.flags


def test_quote_present_is_kept_as_snippet() -> None:
    out = check_answer("It says “cats purr when they are content” [doc_1].", DOCS)
    assert out.flags == []
    assert out.citations[0].snippet == "cats purr when they are content"


def test_dotted_ids_do_not_split_sentences() -> None:
    answer = "Run the ingest command [docs/rag.md]. It needs a corpus name [docs/rag.md]."
    assert len(sentences(answer)) == 2
    out = check_answer(answer, DOCS)
    assert out.flags == []
    assert [c.id for c in out.citations] == ["docs/rag.md"]
    assert out.text == answer


def test_no_citation_is_unsupported() -> None:
    out = check_answer("Cats are great pets.", DOCS)
    assert out.flags == ["unsupported"]
    assert out.citations == []


def test_abstention_is_recognised() -> None:
    out = check_answer(ABSTENTION + ".", DOCS)
    assert out.flags == ["abstained"]
    out = check_answer("I don’t have information about that", DOCS)
    assert out.flags == ["abstained"]


def test_markdown_links_are_not_citations() -> None:
    out = check_answer("See [the docs](https://example.org) [doc_1].", DOCS)
    assert out.flags == []
    assert out.text.startswith("See [the docs](https://example.org)")
