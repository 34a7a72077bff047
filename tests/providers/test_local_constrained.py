"""cited_extractive decoding on the real local model: copied span plus a valid citation."""

from __future__ import annotations

import pytest

from promptyard.chat import ChatMessage
from promptyard.errors import BadRequest
from promptyard.providers import local
from promptyard.providers.base import CompletionRequest, ConstraintSource, DecodingConstraint, ResponseFormat
from promptyard.rag.citations import check_answer
from promptyard.rag.models import ContextDocument

pytestmark = pytest.mark.slow

DOCS = [
    ConstraintSource(id="tower_1", text="The Eiffel Tower was completed in 1889 and is 330 metres tall."),
    ConstraintSource(id="river_2", text="The Amazon flows through Brazil, Peru and Colombia."),
]


def request(question: str, **options: object) -> CompletionRequest:
    docs = "\n\n".join(f"[{d.id}]\n{d.text}" for d in DOCS)
    return CompletionRequest(
        model="smollm2-135m-instruct",
        messages=[
            ChatMessage(role="system", content="Answer with a phrase copied from a document, then [doc_id]."),
            ChatMessage(role="user", content=f"Documents:\n\n{docs}\n\nQuestion: {question}"),
        ],
        constraint=DecodingConstraint(kind="cited_extractive", sources=DOCS, question=question, **options),  # type: ignore[arg-type]
    )


async def test_answer_is_a_copied_span_with_a_valid_citation(local_provider: local.LocalProvider) -> None:
    out = await local_provider.complete(request("When was the Eiffel Tower completed?", model_abstains=False))
    span, _, cite = out.text.rpartition(" [")
    assert cite.rstrip("]") in {d.id for d in DOCS}
    source = next(d for d in DOCS if d.id == cite.rstrip("]"))
    assert span
    assert span in source.text
    checked = check_answer(out.text, [ContextDocument(id=d.id, title="", text=d.text) for d in DOCS])
    assert [c.id for c in checked.citations] == [source.id]
    assert 0 < out.usage.output_tokens <= 32


async def test_low_confidence_threshold_abstains(local_provider: local.LocalProvider) -> None:
    out = await local_provider.complete(request("Who painted the Mona Lisa?", model_abstains=False, abstain_below=0.0))
    assert out.text == "I don't have information about that"


async def test_constraint_and_json_format_do_not_combine(local_provider: local.LocalProvider) -> None:
    req = request("When?").model_copy(update={"response_format": ResponseFormat(type="json_object")})
    with pytest.raises(BadRequest, match="cannot be combined"):
        await local_provider.complete(req)
