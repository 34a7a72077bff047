"""The answer-cache key: what changes it and what does not."""

from __future__ import annotations

from typing import Any

from promptyard.chat import ChatMessage
from promptyard.gateway.cache_key import chat_key, normalize_text, prompt_key

CONFIG = {"provider": "local", "model": "smollm2", "temperature": 0.2, "max_tokens": 256}


def key(**changes: Any) -> str:
    args: dict[str, Any] = {
        "name": "summarize",
        "version": "1.0.0",
        "variables": {"email_body": "Hello  World,\nplease call me."},
        "model_config": CONFIG,
        "tenant": "acme",
        "corpus_version": 3,
    }
    args.update(changes)
    return prompt_key(**args)


def test_normalization_nfkc_casefold_whitespace() -> None:
    assert normalize_text("  Hello\u00a0\u00a0WORLD\t\n ﬁne ") == "hello world fine"
    assert normalize_text("Straße") == normalize_text("STRASSE")


def test_whitespace_and_case_of_inputs_do_not_change_the_key() -> None:
    base = key()
    assert key(variables={"email_body": "hello world, please   CALL me."}) == base
    assert key(variables={"email_body": "  HELLO\tWORLD,\n\nplease call me.  "}) == base
    assert key(variables={"email_body": "Ｈｅｌｌｏ World, please call me."}) == base  # NFKC: full-width letters


def test_prompt_version_changes_the_key() -> None:
    assert key(version="1.0.1") != key()


def test_corpus_version_changes_the_key() -> None:
    assert key(corpus_version=4) != key()
    assert key(corpus_version=None) != key()


def test_everything_else_that_shapes_the_answer_changes_the_key() -> None:
    base = key()
    assert key(name="other") != base
    assert key(tenant="globex") != base
    assert key(tenant=None) != base
    assert key(model_config={**CONFIG, "temperature": 0.7}) != base
    assert key(model_config={**CONFIG, "model": "other"}) != base
    assert key(variables={"email_body": "Hello World, please call me!"}) != base
    assert key(variables={"email_body": "Hello  World,\nplease call me.", "extra": 1}) != base


def test_variable_order_does_not_matter_and_nested_values_are_normalized() -> None:
    a = key(variables={"a": "X", "b": ["Y  z", {"c": "Q"}]})
    b = key(variables={"b": ["y Z", {"c": "q"}], "a": "x"})
    assert a == b


def test_chat_key_normalizes_messages_but_keeps_roles() -> None:
    msgs = [ChatMessage(role="user", content="What is  2+2?")]
    base = chat_key(messages=msgs, model_config=CONFIG, tenant=None)
    assert (
        chat_key(messages=[ChatMessage(role="user", content="what is 2+2? ")], model_config=CONFIG, tenant=None) == base
    )
    assert (
        chat_key(messages=[ChatMessage(role="system", content="What is 2+2?")], model_config=CONFIG, tenant=None)
        != base
    )
    assert chat_key(messages=msgs, model_config=CONFIG, tenant="t") != base
    # a prompt key never collides with a chat key
    assert base != key()
