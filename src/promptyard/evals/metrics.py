"""Answer metrics: SQuAD-style exact match and token F1, contains, regex, JSON Schema,
citation validity and abstention.

Every function returns a float in [0, 1] (1 = good) or ``None`` when it does not apply to
the item, so an aggregate is the mean over the items it applies to.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import jsonschema

from promptyard.evals.model import Citation

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation)
_CITATION = re.compile(r"\[([A-Za-z0-9][^\[\]\s,;]{0,199})\]")
_CITATION_MARK = re.compile(r"\[[^\[\]\n]{1,200}\]")
#: Phrases that mean "I will not answer" (rag_answer's own phrase comes first).
ABSTENTION_PATTERNS: tuple[str, ...] = (
    r"\bi (?:do not|don't|dont) have (?:any |enough )?information\b",
    r"\bi (?:do not|don't|dont) know\b",
    r"\b(?:cannot|can't|can ?not|unable to) (?:answer|find|determine|tell)\b",
    r"\bno (?:relevant )?information (?:about|on|regarding)\b",
    r"\bnot (?:mentioned|provided|stated|found|covered) in the (?:documents?|context|sources?)\b",
    r"\bthe (?:documents?|context|sources?) (?:do|does) not (?:say|mention|contain|provide)\b",
)
_ABSTAIN = re.compile("|".join(ABSTENTION_PATTERNS), re.IGNORECASE)


# ---- SQuAD v1.1 exact match and F1 -------------------------------------------------
def normalize_answer(text: str) -> str:
    """Lower-case, remove punctuation, articles (a, an, the) and extra whitespace (SQuAD v1.1)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, references: Sequence[str]) -> float | None:
    """1.0 if the normalized prediction equals any normalized reference."""
    if not references:
        return None
    norm = normalize_answer(prediction)
    return float(any(norm == normalize_answer(ref) for ref in references))


def _f1(prediction: str, reference: str) -> float:
    pred = normalize_answer(prediction).split()
    ref = normalize_answer(reference).split()
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred)
    recall = same / len(ref)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, references: Sequence[str]) -> float | None:
    """Best token-overlap F1 over the references (SQuAD v1.1)."""
    if not references:
        return None
    return max(_f1(prediction, ref) for ref in references)


# ---- checks --------------------------------------------------------------------------
def contains_all(text: str, needles: Sequence[str]) -> float | None:
    """1.0 if every needle occurs in the text (case-insensitive)."""
    if not needles:
        return None
    low = text.lower()
    return float(all(n.lower() in low for n in needles))


def matches_regex(text: str, pattern: str | None) -> float | None:
    if not pattern:
        return None
    return float(re.search(pattern, text) is not None)


def parse_json_output(text: str, parsed: Any = None) -> tuple[Any, str | None]:
    """The output as JSON: ``parsed`` when the target parsed it, else the text (code fences removed)."""
    if parsed is not None:
        return parsed, None
    body = text.strip()
    fence = re.match(r"^```(?:json)?\s*\n(.*)\n```$", body, re.DOTALL)
    if fence:
        body = fence.group(1)
    try:
        return json.loads(body), None
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg}"


def json_schema_valid(text: str, schema: dict[str, Any] | None, parsed: Any = None) -> float | None:
    """1.0 if the output is JSON valid against ``schema``."""
    if schema is None:
        return None
    value, error = parse_json_output(text, parsed)
    if error is not None:
        return 0.0
    validator = jsonschema.validators.validator_for(schema)(schema)
    return float(validator.is_valid(value))


# ---- citations and abstention -------------------------------------------------------
def parse_citations(text: str) -> list[str]:
    """The ``[doc_id]`` markers in ``text``, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in _CITATION.finditer(text):
        seen.setdefault(match.group(1), None)
    return list(seen)


def strip_citations(text: str) -> str:
    """``text`` without its ``[doc_id]`` markers (for matching the answer itself)."""
    return " ".join(_CITATION_MARK.sub(" ", text).split())


def check_citations(
    text: str, citations: Sequence[Citation] | None, context_doc_ids: Iterable[str] | None
) -> list[Citation]:
    """Citations with validity: the target's verdict when it gave one, else "in the context"."""
    context = set(context_doc_ids) if context_doc_ids is not None else None
    cited = list(citations) if citations is not None else [Citation(doc_id=d) for d in parse_citations(text)]
    out: list[Citation] = []
    for c in cited:
        valid = c.valid
        if valid is None and context is not None:
            valid = c.doc_id in context
        out.append(Citation(doc_id=c.doc_id, valid=valid))
    return out


def citation_validity(citations: Sequence[Citation]) -> float | None:
    """Fraction of citations that are valid; ``None`` without citations or without a verdict."""
    judged = [c.valid for c in citations if c.valid is not None]
    if not judged:
        return None
    return sum(judged) / len(judged)


def detect_abstention(text: str) -> bool:
    return bool(_ABSTAIN.search(text)) or not text.strip()


def abstention_correct(abstained: bool, should_abstain: bool | None) -> float | None:
    """1.0 when the model abstained exactly when it should have."""
    if should_abstain is None:
        return None
    return float(abstained == should_abstain)
