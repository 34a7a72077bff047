"""``model.constrain`` travels from the prompt to the provider request; a provider that cannot
apply it refuses the call or, with ``on_unsupported: ignore``, gets the request without it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from promptyard.errors import BadRequest
from promptyard.gateway.base import PromptCall
from promptyard.gateway.pipeline import Gateway
from promptyard.prompts.model import ConstrainConfig, MessageBlock, ModelConfig, PromptSpec, VariableSpec
from promptyard.providers.fake import FakeProvider, reply

from .conftest import Prompts

DOCS = [{"id": "d1", "title": "T", "text": "Denver won."}, {"id": "d2", "title": "U", "text": "Carolina lost."}]


def rag_spec(constrain: ConstrainConfig) -> PromptSpec:
    return PromptSpec(
        name="rag",
        version="1.0.0",
        model=ModelConfig(provider="fake", model="m1", constrain=constrain),
        variables={
            "documents": VariableSpec(type="list", untrusted=True, delimiter="document"),
            "question": VariableSpec(type="string", untrusted=True),
        },
        blocks=[
            MessageBlock(
                role="user",
                template="{% for d in documents %}[{{ d.id.unwrapped }}] {{ d.text }}\n{% endfor %}{{ question }}",
            )
        ],
    )


def rag_call() -> PromptCall:
    return PromptCall(name="rag", version="1.0.0", variables={"documents": DOCS, "question": "Who won?"})


def test_shorthand_and_defaults() -> None:
    config = ModelConfig.model_validate({"constrain": "cited_extractive"}).constrain
    assert config == ConstrainConfig(kind="cited_extractive")
    assert (config.sources, config.on_unsupported, config.abstain_below) == ("documents", "reject", None)


async def test_provider_without_the_kind_refuses_the_call_by_default(
    make_gateway: Callable[..., Gateway], prompts: Prompts, fake: FakeProvider
) -> None:
    prompts.add(rag_spec(ConstrainConfig(kind="cited_extractive")))
    with pytest.raises(BadRequest, match="cannot apply the decoding constraint 'cited_extractive'"):
        await make_gateway().run(rag_call())
    assert fake.calls == 0


async def test_ignore_drops_the_constraint_for_such_a_provider(
    make_gateway: Callable[..., Gateway], prompts: Prompts, fake: FakeProvider
) -> None:
    prompts.add(rag_spec(ConstrainConfig(kind="cited_extractive", question="question", on_unsupported="ignore")))
    fake.script(reply("Denver [d1]"))
    result = await make_gateway().run(rag_call())
    assert result.text == "Denver [d1]"
    assert fake.requests[0].constraint is None


async def test_a_provider_listing_the_kind_gets_sources_and_question(
    make_gateway: Callable[..., Gateway], prompts: Prompts, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake, "constraints", frozenset({"cited_extractive"}), raising=False)
    prompts.add(rag_spec(ConstrainConfig(kind="cited_extractive", question="question", abstain_below=-1.5)))
    fake.script(reply("Denver [d1]"))
    await make_gateway().run(rag_call())
    constraint = fake.requests[0].constraint
    assert constraint is not None
    assert [(s.id, s.text) for s in constraint.sources] == [("d1", "Denver won."), ("d2", "Carolina lost.")]
    assert (constraint.question, constraint.abstain_below) == ("Who won?", -1.5)
