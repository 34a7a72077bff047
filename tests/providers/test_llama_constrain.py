"""cited_extractive decoding without a model: a word-level vocabulary and scripted logits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from promptyard.providers.base import ConstraintSource, DecodingConstraint
from promptyard.providers.llama_constrain import Decoded, ExtractivePlan, Logits, build_plan, decode

EOS = 0


class Vocab:
    """Whitespace tokens: a word mid-text is ``" word"``, the first word of a text is bare."""

    def __init__(self) -> None:
        self.pieces: list[str] = ["</s>", " ["]
        self.ids: dict[str, int] = {p: i for i, p in enumerate(self.pieces)}

    def id(self, piece: str) -> int:
        if piece not in self.ids:
            self.ids[piece] = len(self.pieces)
            self.pieces.append(piece)
        return self.ids[piece]

    def tokenize(self, text: str) -> list[int]:
        words = text.replace(",", " ,").split()
        return [self.id(w if i == 0 or w == "," else " " + w) for i, w in enumerate(words)]

    def piece(self, token: int) -> str:
        return self.pieces[token]

    def text(self, tokens: Sequence[int]) -> str:
        return "".join(self.pieces[t] for t in tokens)


SOURCES = [
    ConstraintSource(id="d1", text="The game was played in Santa Clara, California in 2016"),
    ConstraintSource(id="d2", text="Denver Broncos won the game"),
]


def plan_for(vocab: Vocab, **options: object) -> ExtractivePlan:
    constraint = DecodingConstraint(kind="cited_extractive", sources=SOURCES, **options)  # type: ignore[arg-type]
    return build_plan(constraint, tokenize=vocab.tokenize, piece=vocab.piece, pieces=vocab.text, end_tokens=[EOS, 1])


def scripted(vocab: Vocab, prefer: Sequence[str]) -> tuple[Logits, list[Logits], list[int]]:
    """Logits that favour ``prefer[i]`` at step i (``"<end>"``: end of generation)."""
    size = len(vocab.pieces) + 64
    steps: list[Logits] = []
    for word in prefer:
        logits = np.zeros(size, dtype=np.float32)
        logits[EOS if word == "<end>" else vocab.id(word)] = 5.0
        steps.append(logits)
    return steps[0], steps[1:], []


def run(plan: ExtractivePlan, vocab: Vocab, prefer: Sequence[str]) -> tuple[Decoded, list[int]]:
    first, rest, fed = scripted(vocab, prefer)

    def step(token: int) -> Logits:
        fed.append(token)
        return rest.pop(0)

    return decode(plan, first, step), fed


def test_span_is_copied_then_cited_with_the_source_that_holds_it() -> None:
    vocab = Vocab()
    out, fed = run(plan_for(vocab), vocab, [" Santa", " Clara", "<end>"])
    assert out.text == "Santa Clara [d1]"
    assert not out.abstained
    assert out.cited == "d1"
    assert fed == [vocab.id(" Santa")]  # the comma after "Clara" ends the span without another step


def test_tokens_outside_the_sources_are_never_chosen() -> None:
    vocab = Vocab()
    plan = plan_for(vocab)
    vocab.id(" Paris")  # in the vocabulary, in no source
    out, _ = run(plan, vocab, [" Paris", " Broncos", "<end>"])
    assert out.text.endswith("]")
    assert out.text.rsplit(" [", 1)[0] in SOURCES[0].text + " " + SOURCES[1].text


def test_span_stops_at_the_end_of_its_source_and_at_max_span_tokens() -> None:
    vocab = Vocab()
    out, _ = run(plan_for(vocab), vocab, ["Denver", " Broncos", " won", " the", " game"])
    assert out.text == "Denver Broncos won the game [d2]"
    out, _ = run(plan_for(vocab, max_span_tokens=2), vocab, ["Denver", " Broncos", " won"])
    assert out.text == "Denver Broncos [d2]"


def test_question_words_stop_words_and_commas_bound_the_span() -> None:
    vocab = Vocab()
    plan = plan_for(vocab, question="Where was the game played?")
    first, rest, _ = scripted(vocab, [" game", " Clara", " ,"])
    first[vocab.id(" Santa")] = 4.0  # second choice; " game" (a question word) cannot start the span
    out = decode(plan, first, lambda token: rest.pop(0))
    assert out.text == "Santa Clara [d1]"  # and the comma ends it


def test_abstention_by_the_model_or_by_low_confidence() -> None:
    vocab = Vocab()
    plan = plan_for(vocab)
    abstain_first = vocab.tokenize(plan.abstention_text)[0]
    first = np.zeros(len(vocab.pieces) + 64, dtype=np.float32)
    first[abstain_first] = 9.0
    assert decode(plan, first, lambda t: first).abstained
    quiet = plan_for(vocab, model_abstains=False)
    assert not decode(quiet, first, lambda t: first).abstained
    strict = plan_for(vocab, abstain_below=-0.01)
    out, _ = run(strict, vocab, [" Santa", "<end>"])
    assert out.abstained
    assert out.text == "I don't have information about that"
    assert out.confidence is not None
    assert out.confidence < -0.01


def test_no_sources_means_abstention() -> None:
    vocab = Vocab()
    constraint = DecodingConstraint(kind="cited_extractive", sources=[])
    plan = build_plan(constraint, tokenize=vocab.tokenize, piece=vocab.piece, pieces=vocab.text, end_tokens=[EOS])
    assert decode(plan, np.zeros(8, dtype=np.float32), lambda t: np.zeros(8, dtype=np.float32)).abstained


def test_numbers_start_a_span_only_when_the_question_asks_for_one() -> None:
    vocab = Vocab()
    first, rest, _ = scripted(vocab, [" 2016", "<end>"])
    first[vocab.id(" Santa")] = 4.0
    who = decode(plan_for(vocab, question="Where was it held?", numbers_when_asked=True), first, lambda token: rest[0])
    assert who.text == "Santa Clara [d1]" or who.text.startswith("Santa")
    when = decode(plan_for(vocab, question="When was it held?", numbers_when_asked=True), first, lambda token: rest[0])
    assert when.text == "2016 [d1]"


def test_low_support_abstains_before_any_step() -> None:
    vocab = Vocab()
    plan = plan_for(vocab, question="Which team won the league title?", min_support=0.5)
    assert plan.support == pytest.approx(1 / 4)  # "team won league title": only "won" is in d2
    out = decode(plan, np.zeros(len(vocab.pieces), dtype=np.float32), lambda token: pytest.fail("stepped"))
    assert out.abstained
    assert out.support == pytest.approx(0.25)


def test_near_question_bonus_moves_the_start_next_to_the_question_words() -> None:
    vocab = Vocab()
    first, rest, _ = scripted(vocab, ["Denver", "<end>"])
    first[vocab.id(" game")] = 0.0
    first[vocab.id(" Santa")] = 4.0  # "played in Santa": two words after "played"
    plain = decode(plan_for(vocab, question="Where was it played?"), first, lambda token: rest[0])
    assert plain.text.startswith("Denver")
    near = plan_for(vocab, question="Where was it played?", near_question_bonus=2.0)
    assert decode(near, first, lambda token: rest[0]).text.startswith("Santa")


def test_skip_sentence_start() -> None:
    vocab = Vocab()
    first, rest, _ = scripted(vocab, ["Denver", "<end>"])
    first[vocab.id(" Broncos")] = 1.0
    plan = plan_for(vocab, skip_sentence_start=True)
    assert decode(plan, first, lambda token: rest[0]).text.startswith("Broncos")


def test_a_comma_inside_a_number_does_not_end_the_span() -> None:
    vocab = Vocab()
    digits = {"3": vocab.id(" 3"), ",": vocab.id(","), "837": vocab.id("837")}
    constraint = DecodingConstraint(
        kind="cited_extractive", sources=[ConstraintSource(id="d1", text="It sold 3,837 copies")]
    )

    def tokenize(text: str) -> list[int]:
        if text == "It sold 3,837 copies":
            return [vocab.id("It"), vocab.id(" sold"), digits["3"], digits[","], digits["837"], vocab.id(" copies")]
        return vocab.tokenize(text)

    plan = build_plan(constraint, tokenize=tokenize, piece=vocab.piece, pieces=vocab.text, end_tokens=[EOS, 1])
    first, rest, _ = scripted(vocab, [" 3", ",", "837", "<end>"])
    out = decode(plan, first, lambda token: rest.pop(0))
    assert out.text == "3,837 [d1]"


def test_a_list_number_at_the_start_of_a_line_never_starts_a_span() -> None:
    vocab = Vocab()
    text = "Steps:\n1. Ingest the files\n2) Ask 3 questions"
    pieces = ["Steps", ":", "\n", "1", ".", " Ingest", " the", " files", "\n", "2", ")", " Ask", " 3", " questions"]
    constraint = DecodingConstraint(kind="cited_extractive", sources=[ConstraintSource(id="d1", text=text)])

    def tokenize(source: str) -> list[int]:
        return [vocab.id(p) for p in pieces] if source == text else vocab.tokenize(source)

    plan = build_plan(constraint, tokenize=tokenize, piece=vocab.piece, pieces=vocab.text, end_tokens=[EOS, 1])
    assert vocab.id("1") not in plan.starts
    assert vocab.id("2") not in plan.starts
    assert vocab.id(" 3") in plan.starts  # a number inside a line still may
    first, rest, _ = scripted(vocab, ["1", "<end>"])
    first[vocab.id(" Ingest")] = 1.0
    assert decode(plan, first, lambda token: rest[0]).text == "Ingest [d1]"
