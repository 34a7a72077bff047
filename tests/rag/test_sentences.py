"""Cutting context documents to the sentences most related to the question."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from promptyard.rag.models import ContextDocument
from promptyard.rag.sentences import sentence_scores, split_sentences, stemmed_words, trim_to_sentences


def doc(text: str, id: str = "d1") -> ContextDocument:
    return ContextDocument(id=id, title="T", text=text)


def test_overlap_keeps_the_sentences_closest_to_the_question_in_order() -> None:
    d = doc("Paris is in France. The tower opened in 1889. It was built by Eiffel's company. Rain is common.")
    [one] = trim_to_sentences([d], "When did the tower open?", 1)
    assert one.text == "The tower opened in 1889."
    [two] = trim_to_sentences([d], "Who built the tower?", 2)
    assert two.text == "The tower opened in 1889. It was built by Eiffel's company."
    assert trim_to_sentences([d], "anything", 0) == [d]


def test_split_and_stems() -> None:
    assert split_sentences('It rained. 3 days later, "Sun" came. e.g. not here') == [
        "It rained.",
        '3 days later, "Sun" came. e.g. not here',
    ]
    assert stemmed_words("The players played and plays") == {"player", "play"}


def test_idf_prefers_the_rare_shared_word() -> None:
    # Both later sentences share one question word; "Broncos" is rare here, "game" is in every sentence.
    sentences = [
        "The game was long and the game was loud.",
        "The game ended late.",
        "The Broncos won.",
    ]
    question = "Which team won the game, the Broncos?"
    overlap = sentence_scores(question, sentences, "overlap")
    idf = sentence_scores(question, sentences, "idf")
    assert overlap[1] == overlap[0] == 1.0  # "game" only
    assert overlap[2] == 2.0  # "broncos", "won"
    assert idf[2] > max(idf[0], idf[1])
    assert idf[0] == idf[1]  # the same shared word, the same weight


def test_idf_embed_adds_the_scaled_cosine_and_ties_go_to_the_earlier_sentence() -> None:
    calls: list[tuple[str, list[str]]] = []

    def embed(question: str, sentences: Sequence[str]) -> npt.NDArray[np.float32]:
        calls.append((question, list(sentences)))
        return np.asarray([0.1, 0.8, 0.4], dtype=np.float32)

    d1 = doc("Alpha beta. Gamma delta.", "d1")
    d2 = doc("Epsilon zeta.", "d2")
    out = trim_to_sentences([d1, d2], "Alpha?", 1, ranking="idf_embed", embed=embed)
    # One batch for all documents' sentences; in d1 the first sentence's idf (1.0 scaled) plus its
    # cosine (0.125 scaled) beats the second's cosine alone (1.0 scaled).
    assert calls == [("Alpha?", ["Alpha beta.", "Gamma delta.", "Epsilon zeta."])]
    assert out[0].text == "Alpha beta."
    assert out[1] is d2  # a one-sentence document is kept whole
    scores = sentence_scores("Alpha?", ["Alpha beta.", "Gamma delta.", "Epsilon zeta."], "idf_embed", embed)
    assert scores == pytest.approx([1.125, 1.0, 0.5])
    # Without an embedder idf_embed is idf.
    assert sentence_scores("Alpha?", ["Alpha beta.", "Gamma delta."], "idf_embed") == sentence_scores(
        "Alpha?", ["Alpha beta.", "Gamma delta."], "idf"
    )


def test_total_keeps_the_best_sentences_over_all_documents_and_drops_empty_ones() -> None:
    d1 = doc("The Broncos won the game. Rain fell.", "d1")
    d2 = doc("Fans cheered. The Broncos won in Santa Clara.", "d2")
    d3 = doc("Nothing here.", "d3")
    question = "Where did the Broncos win?"
    per_doc = trim_to_sentences([d1, d2, d3], question, 1)
    assert [d.text for d in per_doc] == [
        "The Broncos won the game.",
        "The Broncos won in Santa Clara.",
        "Nothing here.",
    ]
    # Both kept sentences tie on overlap (broncos, won): the earlier document goes first.
    [only] = trim_to_sentences([d1, d2, d3], question, 1, total=1)
    assert (only.id, only.text) == ("d1", "The Broncos won the game.")
    two = trim_to_sentences([d1, d2, d3], question, 2, total=2)
    assert [(d.id, d.text) for d in two] == [
        ("d1", "The Broncos won the game."),
        ("d2", "The Broncos won in Santa Clara."),
    ]
