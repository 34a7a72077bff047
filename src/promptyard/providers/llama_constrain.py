"""Constrained decoding for the local model: ``cited_extractive`` answers.

The answer is either a span copied token for token from one source's text, followed by
`` [id]`` of a source that contains that span, or exactly the abstention sentence. The
decoder is greedy over the allowed tokens only:

1. **Start.** The allowed tokens are the source tokens that start a word, plus the first
   token of the abstention sentence. If the model prefers the abstention token, the
   answer is the abstention sentence.
2. **Span.** Each next token must continue the span in at least one source (a suffix
   match over the sources' token sequences), or the span ends: it ends when an *end*
   token (end of generation, newline, `` [``) scores at least as high as every
   continuation, when no source continues it, or at ``max_span_tokens``.
3. **Citation.** `` [id]`` of the first source (in context order) containing the span.

When the constraint carries the question, the span is also *question-novel*: it does not
start on a stop word or on a word of the question, and it stops before a word of the
question or a clause-breaking punctuation mark (``, ; : ( ) "`` and a full stop), so it
names what the question asks for instead of repeating the question. A list's numbering
(``1.`` or ``2)`` at the start of a line) never starts a span. With
``numbers_when_asked`` a span starts on a number only when the question asks for one
(*when*, *how many*, *what year*, ...). With ``skip_sentence_start`` a span never
starts on the first word of a sentence (small models copy sentences from their start; 2 of
100 SQuAD answers start there).

The span's mean token log-probability (over the full vocabulary) is its confidence:
with ``abstain_below`` set, a span below it is replaced by the abstention sentence. The
*support* is the largest share of the question's content words that one source contains:
with ``min_support`` set, the answer is the abstention sentence when no source reaches it
(checked before any token is generated).

:func:`decode` only needs the first logits and a ``step`` callback that feeds one token
and returns the next logits, so it is tested without a model; the llama.cpp glue lives
in :mod:`promptyard.providers.llama_model`.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from promptyard.providers.base import DecodingConstraint
from promptyard.words import STOP_WORDS, content_words
from promptyard.words import words as words_of

NEAR_WORDS = 3
"""A start within this many words of a question word gets ``near_question_bonus``."""
BREAKS = frozenset({",", ";", ":", "(", ")", '"', ".", "?", "!"})
_ASKS_NUMBER = re.compile(
    r"\b(when|how (many|much|long|old|far|large|big|tall|high|often|fast|deep|wide)|"
    r"(what|which) (year|years|date|day|month|percentage|percent|number|time|age|decade|century|amount|size))\b",
    re.IGNORECASE,
)


def asks_for_number(question: str) -> bool:
    """The question asks for a quantity, a date or a time."""
    return bool(_ASKS_NUMBER.search(question))


Logits = npt.NDArray[np.float32]
Step = Callable[[int], Logits]


@dataclass
class ExtractivePlan:
    """The token-level view of a ``cited_extractive`` constraint for one request."""

    source_ids: list[str]
    source_tokens: list[list[int]]
    starts: dict[int, list[tuple[int, int]]]
    """Token id -> the (source, position) pairs where that token starts a word."""
    abstention_text: str
    abstention_tokens: list[int]
    end_tokens: list[int]
    max_span_tokens: int
    abstain_below: float | None
    model_abstains: bool
    support: float | None
    """Largest share of the question's content words found in one source (None without a question)."""
    min_support: float | None
    start_bias: dict[int, float]
    """Token id -> bonus added to its logit at the start (words near the question's words)."""
    pieces: Callable[[Sequence[int]], str]
    stops: list[set[int]] = field(default_factory=list)
    """Per source, the positions a span may not extend into (question words, punctuation)."""


@dataclass
class Decoded:
    text: str
    tokens: int
    """Tokens the answer is made of (span, citation or abstention)."""
    abstained: bool
    confidence: float | None = None
    """Mean log-probability of the span's tokens (None when the model chose to abstain)."""
    support: float | None = None
    cited: str | None = None
    span_tokens: list[int] = field(default_factory=list)


def _word_start(prev: str, piece: str) -> bool:
    """A token starts a word: it begins with a space, or follows whitespace or punctuation."""
    if not piece or piece.isspace():
        return False
    if piece[0].isspace():
        return bool(piece.strip()) and piece.strip()[0].isalnum()
    return piece[0].isalnum() and (not prev or not prev[-1].isalnum())


def _in_number(texts: list[str], pos: int) -> bool:
    """``,`` or ``.`` between two digits (``30,000``, ``3.5``): part of the number, not a break."""
    if texts[pos] not in {",", "."} or pos == 0 or pos + 1 >= len(texts):
        return False
    return texts[pos - 1][-1:].isdigit() and texts[pos + 1][:1].isdigit()


def _list_marker(texts: list[str], pos: int) -> bool:
    """``1.`` or ``2)`` opening a line: a list's numbering, never an answer."""
    word = texts[pos].strip()
    if not word[:1].isdigit():
        return False
    before = "".join(texts[max(0, pos - 2) : pos]).rstrip(" \t")
    if before and not before.endswith("\n"):
        return False
    if word.rstrip(".)").isdigit() and word[-1] in ".)":
        return True
    after = texts[pos + 1].strip() if pos + 1 < len(texts) else ""
    return word.isdigit() and after in {".", ")"} and not _in_number(texts, pos + 1)


def _positions(tokens: list[int], piece: Callable[[int], str]) -> tuple[list[bool], list[str], list[str]]:
    """Per token: does it start a word, the whole word it belongs to (normalized), its text."""
    texts = [piece(t) for t in tokens]
    starts = [_word_start(texts[i - 1] if i else "", texts[i]) for i in range(len(texts))]
    words = [""] * len(texts)
    i = 0
    while i < len(texts):
        j = i + 1
        while j < len(texts) and not starts[j] and texts[j].strip() and texts[j].strip()[0].isalnum():
            j += 1
        word = "".join(texts[i:j]).strip().casefold()
        for k in range(i, j):
            words[k] = word
        i = j
    return starts, words, texts


def build_plan(
    constraint: DecodingConstraint,
    *,
    tokenize: Callable[[str], list[int]],
    piece: Callable[[int], str],
    pieces: Callable[[Sequence[int]], str],
    end_tokens: Sequence[int],
) -> ExtractivePlan:
    """Tokenize the sources and index where words start."""
    ids: list[str] = []
    seqs: list[list[int]] = []
    starts: dict[int, list[tuple[int, int]]] = {}
    stops: list[set[int]] = []
    bias: dict[int, float] = {}
    asked = content_words(constraint.question) if constraint.question else set()
    numbers_ok = not constraint.numbers_when_asked or not constraint.question or asks_for_number(constraint.question)
    support = 0.0 if asked else None
    for source in constraint.sources:
        if asked:
            support = max(support or 0.0, len(asked & words_of(source.text)) / len(asked))
        tokens = tokenize(source.text)
        if not tokens:
            continue
        index = len(seqs)
        ids.append(source.id)
        seqs.append(tokens)
        begins, words, texts = _positions(tokens, piece)
        word_index = list(itertools.accumulate(int(b) for b in begins))
        anchors = [word_index[i] for i in range(len(tokens)) if begins[i] and words[i] in asked]
        blocked: set[int] = set()
        for pos, token in enumerate(tokens):
            in_question = words[pos] in asked
            numeric = words[pos][:1].isdigit()
            opening = pos == 0 or texts[pos - 1].rstrip()[-1:] in {".", "!", "?", ""}
            allowed = (numbers_ok or not numeric) and not _list_marker(texts, pos)
            if constraint.skip_sentence_start and opening:
                allowed = False
            if begins[pos] and not in_question and words[pos] not in STOP_WORDS and allowed:
                starts.setdefault(token, []).append((index, pos))
                near = min((abs(word_index[pos] - a) for a in anchors), default=0)
                if constraint.near_question_bonus and 1 <= near <= NEAR_WORDS:
                    bias[token] = constraint.near_question_bonus
            if (begins[pos] and in_question) or (texts[pos].strip() in BREAKS and not _in_number(texts, pos)):
                blocked.add(pos)
        stops.append(blocked)
    return ExtractivePlan(
        source_ids=ids,
        source_tokens=seqs,
        starts=starts,
        stops=stops,
        abstention_text=constraint.abstention,
        abstention_tokens=tokenize(constraint.abstention),
        end_tokens=sorted(set(end_tokens)),
        max_span_tokens=constraint.max_span_tokens,
        abstain_below=constraint.abstain_below,
        model_abstains=constraint.model_abstains,
        support=support,
        min_support=constraint.min_support,
        start_bias=bias,
        pieces=pieces,
    )


def _log_prob(logits: Logits, token: int) -> float:
    top = float(np.max(logits))
    return float(logits[token]) - top - math.log(float(np.sum(np.exp(logits - top))))


def _abstain(plan: ExtractivePlan, confidence: float | None = None) -> Decoded:
    return Decoded(
        text=plan.abstention_text,
        tokens=len(plan.abstention_tokens),
        abstained=True,
        confidence=confidence,
        support=plan.support,
    )


def _open(plan: ExtractivePlan, source: int, pos: int) -> bool:
    """The span may extend to ``pos`` of ``source``."""
    return pos < len(plan.source_tokens[source]) and not (plan.stops and pos in plan.stops[source])


def decode(plan: ExtractivePlan, first: Logits, step: Step, cancelled: Callable[[], bool] = lambda: False) -> Decoded:
    """Greedy constrained decoding (see the module docstring). ``step`` is called once per span token."""
    if not plan.starts:
        return _abstain(plan)
    if plan.min_support is not None and plan.support is not None and plan.support < plan.min_support:
        return _abstain(plan)
    candidates = np.fromiter(plan.starts, dtype=np.int64)
    bonus = np.asarray([plan.start_bias.get(int(t), 0.0) for t in candidates], dtype=np.float32)
    token = int(candidates[int(np.argmax(first[candidates] + bonus))])
    abstain_first = plan.abstention_tokens[0] if plan.abstention_tokens and plan.model_abstains else None
    if abstain_first is not None and abstain_first not in plan.starts and first[abstain_first] > first[token]:
        return _abstain(plan)
    span = [token]
    log_probs = [_log_prob(first, token)]
    active = list(plan.starts[token])
    ends = np.asarray(plan.end_tokens, dtype=np.int64)
    while len(span) < plan.max_span_tokens and not cancelled():
        nexts = sorted({plan.source_tokens[s][p + 1] for s, p in active if _open(plan, s, p + 1)})
        if not nexts:
            break
        logits = step(token)
        options = np.asarray(nexts, dtype=np.int64)
        best = int(options[int(np.argmax(logits[options]))])
        if ends.size and float(np.max(logits[ends])) >= float(logits[best]):
            break
        token = best
        span.append(token)
        log_probs.append(_log_prob(logits, token))
        active = [(s, p + 1) for s, p in active if _open(plan, s, p + 1)]
        active = [(s, p) for s, p in active if plan.source_tokens[s][p] == token]
    confidence = sum(log_probs) / len(log_probs)
    if plan.abstain_below is not None and confidence < plan.abstain_below:
        return _abstain(plan, confidence)
    cited = plan.source_ids[min(s for s, _ in active)]
    text = f"{plan.pieces(span).strip()} [{cited}]"
    return Decoded(
        text=text,
        tokens=len(span),
        abstained=False,
        confidence=confidence,
        support=plan.support,
        cited=cited,
        span_tokens=span,
    )
