"""Acceptance: replaying a RAG trace retrieves the same chunk ids as the original.

Real RAG (``runtime.rag``: SQLite vector store, BM25, fusion, context building) with the
deterministic fake embedder, and the real gateway with the scripted fake provider.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from promptyard.prompts.model import MessageBlock, ModelConfig, PromptSpec, VariableSpec
from promptyard.providers.fake import FakeProvider, reply
from promptyard.runtime import Runtime
from promptyard.tracing.files import trace_dir
from promptyard.tracing.reader import TraceReader
from promptyard.tracing.replay import replay

from .gateway_helpers import Prompts, wire

TOPICS = {
    "volcano": "Volcanoes erupt when magma rises through the crust. Lava cools into basalt rock.",
    "tides": "Tides are caused by the gravity of the moon and the sun pulling on the oceans.",
    "bees": "Bees pollinate flowers and make honey from nectar inside the hive.",
    "comets": "Comets are icy bodies; near the sun they grow a glowing tail of gas and dust.",
    "rivers": "Rivers carve valleys, carry sediment and flow into lakes or the sea.",
    "glaciers": "Glaciers are slow rivers of ice that grind valleys into a U shape.",
}


def spec(name: str, user: str, variables: dict[str, VariableSpec]) -> PromptSpec:
    return PromptSpec(
        name=name, version="1.0.0", model=ModelConfig(provider="fake", model="m1", temperature=0.0),
        variables=variables, blocks=[MessageBlock(role="user", template=user)],
    )  # fmt: skip


@pytest.fixture
def rag_rt(make_runtime: Callable[..., Runtime], fake: FakeProvider, tmp_path: Path) -> Runtime:
    rt = make_runtime(embedder="fake", reranker="none", vector_store="sqlite", context_token_budget=60)
    wire(
        rt,
        Prompts(
            spec("rag_answer", "Q: {{ question }}\n{% for d in documents %}[{{ d.id }}] {{ d.text }}\n{% endfor %}",
                 {"question": VariableSpec(), "documents": VariableSpec(type="list")}),
            spec("hyde", "Write a passage answering: {{ question }}", {"question": VariableSpec()}),
        ),
    )  # fmt: skip
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in TOPICS.items():
        (docs / f"{name}.md").write_text(f"# {name}\n\n{text}\n")
    rt.rag.ingest([docs], "science")
    return rt


async def test_replaying_a_rag_trace_retrieves_the_same_chunk_ids(rag_rt: Runtime, fake: FakeProvider) -> None:
    from promptyard.cli.traces import rag_replayer
    from promptyard.rag.models import AnswerRequest

    fake.script(reply("Lava from volcanoes cools into rock."), reply("Magma rises and cools into basalt [volcano]."))
    answer = await rag_rt.rag.answer(
        AnswerRequest(corpus="science", question="What happens when magma rises?", transform="hyde", k=3,
                      prompt="rag_answer@production")
    )  # fmt: skip
    assert answer.trace_id is not None
    assert rag_rt.tracer.flush(10)  # type: ignore[attr-defined]
    original = TraceReader(trace_dir(rag_rt.settings.home)).find(answer.trace_id)
    assert original.kind == "rag"
    assert original.transform_outputs == ["Lava from volcanoes cools into rock."]
    assert original.context_chunk_ids  # retrieval fed the answer
    assert len(original.context_chunk_ids) < len(TOPICS)  # a real selection, not the whole corpus
    assert original.prompt_version is None  # asked by label: replay resolves the version from the sub-call
    calls_before = fake.calls
    fake.script(reply("A different answer this time [volcano]."))

    result = await replay(original, rag_rt.gateway, rag_replayer(rag_rt))

    assert result.new_chunk_ids == original.context_chunk_ids
    assert result.same_chunks is True
    assert fake.calls == calls_before + 1  # the transform was not asked again, only the answer
    assert fake.requests[-1].model == "m1"
    assert "Q: What happens when magma rises?" in fake.requests[-1].messages[0].content
    assert result.new_answer is not None
    assert result.new_answer.startswith("A different answer this time")
    assert not result.same_answer
    assert rag_rt.tracer.flush(10)  # type: ignore[attr-defined]
    new = TraceReader(trace_dir(rag_rt.settings.home)).find(result.new_trace_id or "")
    assert "replay" in new.flags
    assert new.prompt_version == "1.0.0"
    assert new.context_chunk_ids == original.context_chunk_ids


async def test_a_search_trace_replays_too_and_a_changed_corpus_is_flagged(
    rag_rt: Runtime, fake: FakeProvider, tmp_path: Path
) -> None:
    from promptyard.cli.traces import rag_replayer
    from promptyard.rag.models import SearchRequest

    result = await rag_rt.rag.asearch(SearchRequest(corpus="science", query="icy tail near the sun", k=2))
    assert rag_rt.tracer.flush(10)  # type: ignore[attr-defined]
    [original] = TraceReader(trace_dir(rag_rt.settings.home)).grep("icy tail near the sun")
    assert original.context_chunk_ids == [h.chunk_id for h in result.hits]
    again = await replay(original, rag_rt.gateway, rag_replayer(rag_rt))
    assert again.same_chunks is True
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "sun.md").write_text("# sun\n\nThe sun is a star.\n")
    rag_rt.rag.ingest([extra], "science")
    replayed = await replay(original, rag_rt.gateway, rag_replayer(rag_rt))
    assert rag_rt.tracer.flush(10)  # type: ignore[attr-defined]
    new = TraceReader(trace_dir(rag_rt.settings.home)).find(replayed.new_trace_id or "")
    assert any(f.startswith("corpus_changed:") for f in new.flags)
