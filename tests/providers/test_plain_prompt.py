"""The completion prompt a base model (a GGUF without a chat template) is given."""

from __future__ import annotations

from promptyard.providers.llama_model import PLAIN_ANSWER_CUE, plain_prompt


def test_messages_in_order_then_the_answer_cue() -> None:
    messages = [
        {"role": "system", "content": "Answer from the documents.\n"},
        {"role": "user", "content": "Documents:\n\n[d1] A\nText."},
        {"role": "user", "content": "   "},
        {"role": "user", "content": "Question: Who?"},
    ]
    expected = "Answer from the documents.\n\nDocuments:\n\n[d1] A\nText.\n\nQuestion: Who?\n\nAnswer:"
    assert plain_prompt(messages) == expected
    assert PLAIN_ANSWER_CUE == "Answer:"


def test_an_assistant_message_last_is_continued_as_written() -> None:
    messages = [{"role": "user", "content": "Question: Who?"}, {"role": "assistant", "content": "Answer: The"}]
    assert plain_prompt(messages) == "Question: Who?\n\nAnswer: The"
