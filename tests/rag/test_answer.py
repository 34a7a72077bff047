"""Cited answers through the real gateway (scripted provider), transforms and traces."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from promptyard.errors import NotFound
from promptyard.providers.fake import FakeProvider, hang, reply, unavailable
from promptyard.rag.models import AnswerRequest, SearchRequest
from promptyard.runtime import Runtime
from promptyard.tracing.model import MemoryRecorder


def _denonce(text: object) -> str:
    """Drop the per-render nonce of untrusted-value tags (``<document-1a2b3c4d>``)."""
    return re.sub(r"-[0-9a-f]{8}>", ">", str(text))


def _ids(rt: Runtime) -> dict[str, str]:
    """``name -> doc_id`` of the ingested pets corpus."""
    return {Path(d).name: d for d in rt.rag.store.document_hashes("pets")}


@pytest.fixture
def pets(rag_runtime: Runtime, pets_dir: Path) -> Runtime:
    rag_runtime.rag.ingest([pets_dir], "pets", chunk_tokens=24)
    return rag_runtime


async def test_answer_with_valid_and_fabricated_citations(
    pets: Runtime, fake_llm: FakeProvider, recorder: MemoryRecorder
) -> None:
    cats = _ids(pets)["cats.md"]
    fake_llm.script(reply(f"Cats purr when they are content [{cats}]. They can also fly [doc_99]."))
    out = await pets.rag.answer(AnswerRequest(corpus="pets", question="Why do cats purr?"))
    assert out.answer == f"Cats purr when they are content [{cats}]. They can also fly."
    assert [c.id for c in out.citations] == [cats]
    assert out.citations[0].title == "Cats"
    assert out.citations[0].source == cats
    assert "invalid_citation" in out.flags
    assert "unsupported" not in out.flags
    assert out.corpus_version == 1

    # the model saw every document labelled with its id, most relevant first
    sent = fake_llm.requests[-1].messages
    assert f"[{cats}]" in sent[1].content
    rag = next(t for t in recorder.traces if t.kind == "rag")
    assert (rag.corpus, rag.corpus_version, rag.answer) == ("pets", 1, out.answer)
    assert rag.context_chunk_ids
    assert {c.doc_id for c in rag.citations} == {cats, "doc_99"}
    gen = next(t for t in recorder.traces if t.prompt_name == "rag_answer")
    assert gen.parent_id == rag.trace_id


async def test_quote_not_in_context_is_flagged(pets: Runtime, fake_llm: FakeProvider) -> None:
    cats = _ids(pets)["cats.md"]
    fake_llm.script(reply(f'The text says "cats hate taurine" [{cats}].'))
    out = await pets.rag.answer(AnswerRequest(corpus="pets", question="What do cats eat?"))
    assert "quote_not_found" in out.flags
    assert "unsupported" in out.flags
    assert out.citations == []


async def test_abstention(pets: Runtime, fake_llm: FakeProvider) -> None:
    fake_llm.script(reply("I don't have information about that"))
    out = await pets.rag.answer(AnswerRequest(corpus="pets", question="What is the capital of Peru?"))
    assert "abstained" in out.flags
    assert "unsupported" not in out.flags


async def test_generation_timeout_returns_sources(pets: Runtime, fake_llm: FakeProvider) -> None:
    fake_llm.script(hang())
    out = await pets.rag.answer(AnswerRequest(corpus="pets", question="Do dogs bark?", timeout_s=0.3))
    assert out.answer is None
    assert "no answer was generated in time" in (out.message or "").lower()
    assert "generation_timeout" in out.flags
    assert out.sources
    assert any(s.id.endswith("dogs.txt") for s in out.sources)


async def test_whole_corpus_skips_retrieval(pets: Runtime, fake_llm: FakeProvider, recorder: MemoryRecorder) -> None:
    pets.settings.context_token_budget = 10_000
    fake_llm.script(reply("x"), reply("x"))
    a = await pets.rag.answer(AnswerRequest(corpus="pets", question="Do dogs bark?"))
    b = await pets.rag.answer(AnswerRequest(corpus="pets", question="Why do cats purr?"))
    assert "whole_corpus" in a.flags
    assert "whole_corpus" in b.flags
    assert len(a.sources) == 3
    first, second = ([_denonce(m.content) for m in c.messages] for c in fake_llm.requests[-2:])
    assert first[:2] == second[:2]  # identical system + documents prefix (up to the per-render nonce)
    assert first[2] != second[2]
    rag = [t for t in recorder.traces if t.kind == "rag"][-1]
    assert rag.vector_candidates == []
    assert rag.fused == []


async def test_unknown_corpus_names_the_existing_ones(pets: Runtime) -> None:
    with pytest.raises(NotFound) as info:
        await pets.rag.answer(AnswerRequest(corpus="nope", question="hi"))
    assert info.value.available == ["pets"]


@pytest.mark.parametrize("transform", ["multi_query", "decompose"])
async def test_list_transforms_feed_retrieval_and_trace(
    pets: Runtime, fake_llm: FakeProvider, recorder: MemoryRecorder, transform: str
) -> None:
    fake_llm.script(reply("1. Which animal needs taurine?\n2. What do parrots mimic?\n- Do dogs need walks?"))
    res = await pets.rag.asearch(SearchRequest(corpus="pets", query="tell me about pets", k=5, transform=transform))
    assert res.transform == transform
    assert res.transform_outputs == ["Which animal needs taurine?", "What do parrots mimic?", "Do dogs need walks?"]
    found = {Path(h.doc_id).name for h in res.hits}
    assert {"cats.md", "birds.html", "dogs.txt"} <= found
    rag = [t for t in recorder.traces if t.kind == "rag"][-1]
    assert rag.transform == transform
    assert rag.transform_outputs == res.transform_outputs
    sub = next(t for t in recorder.traces if t.prompt_name == transform)
    assert sub.parent_id == rag.trace_id


async def test_hyde_searches_with_the_hypothetical_passage(pets: Runtime, fake_llm: FakeProvider) -> None:
    fake_llm.script(reply("Parrots are birds that can mimic human speech."))
    res = await pets.rag.asearch(
        SearchRequest(corpus="pets", query="which one talks?", k=3, mode="vector", transform="hyde")
    )
    assert res.transform_outputs == ["Parrots are birds that can mimic human speech."]
    assert Path(res.hits[0].doc_id).name == "birds.html"


async def test_failing_transform_degrades_to_the_plain_query(pets: Runtime, fake_llm: FakeProvider) -> None:
    fake_llm.script(unavailable(503))
    res = await pets.rag.asearch(SearchRequest(corpus="pets", query="dogs", k=3, transform="hyde"))
    assert "transform_failed" in res.flags
    assert res.hits


async def test_context_sentences_setting_trims_documents(pets: Runtime, fake_llm: FakeProvider) -> None:
    pets.settings.rag_context_sentences = 1
    cats = _ids(pets)["cats.md"]
    fake_llm.script(reply(f"They are content [{cats}]."))
    out = await pets.rag.answer(AnswerRequest(corpus="pets", question="When do cats purr?"))
    sent = _denonce(fake_llm.requests[-1].messages[1].content)
    assert "Cats purr when they are content." in sent
    assert "sixteen hours" not in sent  # the other sentence of that passage was cut
    assert [c.id for c in out.citations] == [cats]


async def test_idf_embed_ranking_embeds_the_sentences_once_per_answer(
    pets: Runtime, fake_llm: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    pets.settings.rag_context_sentences = 1
    pets.settings.rag_context_sentence_ranking = "idf_embed"
    cats = _ids(pets)["cats.md"]
    calls: list[tuple[list[str], str]] = []
    embed = pets.rag.embedder.embed

    def recording(texts: Any, *, kind: Any = "document", progress: Any = None) -> Any:
        calls.append((list(texts), kind))
        return embed(texts, kind=kind, progress=progress)

    monkeypatch.setattr(pets.rag.embedder, "embed", recording)
    fake_llm.script(reply(f"Sixteen hours [{cats}]."))
    await pets.rag.answer(AnswerRequest(corpus="pets", question="How long does a cat sleep?"))
    sent = _denonce(fake_llm.requests[-1].messages[1].content)
    assert "A cat sleeps sixteen hours a day." in sent
    assert "Cats purr when they are content." not in sent
    [(sentences, kind), (question, query_kind)] = calls[-2:]
    assert (kind, query_kind, question) == ("document", "query", ["How long does a cat sleep?"])
    assert "Cats purr when they are content." in sentences  # ranked, then cut
    assert any(s.startswith("A cat sleeps sixteen hours a day.") for s in sentences)
    assert "Dogs bark at the mail carrier." in sentences  # every document's sentences, one batch


async def test_prompt_context_block_trims_when_settings_are_default(pets: Runtime, fake_llm: FakeProvider) -> None:
    assert pets.settings.rag_context_sentences == 0
    pets.registry.set_label("rag_answer", "production", "1.2.0", actor="tests")  # context: 1 sentence, 1 in all
    cats = _ids(pets)["cats.md"]
    fake_llm.script(reply(f"Sixteen hours [{cats}]."))
    out = await pets.rag.answer(AnswerRequest(corpus="pets", question="How long does a cat sleep?"))
    sent = _denonce(fake_llm.requests[-1].messages[1].content)
    assert "A cat sleeps sixteen hours a day." in sent
    for cut in ("Cats purr when they are content.", "Dogs bark", "A dog needs", "Parrots can mimic"):
        assert cut not in sent
    assert [s.id for s in out.sources] == [cats]  # the other documents were left without a sentence
    assert out.prompt == "rag_answer@1.2.0"


async def test_context_sentences_setting_overrides_the_prompt_block(pets: Runtime, fake_llm: FakeProvider) -> None:
    pets.registry.set_label("rag_answer", "production", "1.2.0", actor="tests")
    pets.settings.rag_context_sentences = 1  # total 0 (no cap) from the settings, not the prompt's 1
    cats = _ids(pets)["cats.md"]
    fake_llm.script(reply(f"Sixteen hours [{cats}]."))
    out = await pets.rag.answer(AnswerRequest(corpus="pets", question="How long does a cat sleep?"))
    sent = _denonce(fake_llm.requests[-1].messages[1].content)
    assert "A cat sleeps sixteen hours a day." in sent
    assert "Cats purr when they are content." not in sent  # still one sentence per document
    assert "Parrots can mimic human speech." in sent  # but every document keeps one
    assert len(out.sources) == 3


async def test_prompt_without_context_block_sends_whole_passages(pets: Runtime, fake_llm: FakeProvider) -> None:
    cats = _ids(pets)["cats.md"]
    fake_llm.script(reply(f"Sixteen hours [{cats}]."))
    out = await pets.rag.answer(
        AnswerRequest(corpus="pets", question="How long does a cat sleep?", prompt="rag_answer@1.1.0")
    )
    sent = _denonce(fake_llm.requests[-1].messages[1].content)
    for whole in ("Cats purr when they are content.", "A cat sleeps sixteen hours a day.", "A dog needs a daily walk"):
        assert whole in sent
    assert out.prompt == "rag_answer@1.1.0"
